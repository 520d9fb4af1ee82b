"""aiogram's FSM, made lazy, frugal with round trips, and safe against redelivery.

aiogram's own FSM middleware reads the state before any handler runs, so even /help costs a
round trip and fails while the database is down; it writes every change at once, and
`FSMContext.clear()` takes two writes. Here:

- the conversation is read when a filter or handler first asks, at most once per update;
- changes are kept until the handler has returned, replies sent, then written in one write
  that also records the update as handled. A crash before that write leaves the update
  unrecorded, so its redelivery is handled again (use cases are idempotent for that) and the
  user gets the answer they were owed; after it, a redelivery is recognised by the read that
  precedes any change (a change without a read reads first) and dropped. An update that only
  reads is not recorded: answering it twice is harmless. If the handler fails after its use
  case succeeded (its reply could not be sent), its change is still written, unrecorded;
- that write is the user's no longer: it runs outside the update's time budget. If it fails,
  the change is kept in memory (for at most the conversation's time to live, and for a
  bounded number of users) and carried into the user's next update, so the conversation is
  where the replies said it is. A process that dies meanwhile loses it.

aiogram's `StateFilter` reads `raw_state`, which is not provided here: filter on state with
`presentation.telegram.filters.InState`. Keeping one user's updates in order is
`UserOrder`'s job, further out, so that error replies are in order too.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, cast

from aiogram import Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import TelegramObject, Update

from application.errors import StorageUnavailable
from application.time_budget import outside_budget
from infrastructure.conversation.errors import RequestAlreadyHandled
from presentation.telegram.conversation_store import ConversationStore, HeldConversation
from presentation.telegram.middlewares.conversation_lease import HELD_KEY, STORAGE_DOWN
from presentation.telegram.middlewares.update_log import set_outcome

log = logging.getLogger(__name__)


class _Unchanged:
    pass


_UNCHANGED: Final = _Unchanged()


@dataclass
class _Change:
    state: str | _Unchanged | None = _UNCHANGED
    data: dict[str, Any] | _Unchanged = _UNCHANGED

    def __bool__(self) -> bool:
        return self.state is not _UNCHANGED or self.data is not _UNCHANGED


class Unsaved:
    """Changes whose write failed, by conversation, until written, superseded or too old."""

    def __init__(
        self,
        max_age_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._changes: dict[StorageKey, tuple[float, _Change]] = {}

    def __len__(self) -> int:
        return len(self._changes)

    def get(self, key: StorageKey) -> _Change | None:
        entry = self._changes.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] > self._max_age:  # the conversation would have expired
            del self._changes[key]
            return None
        return entry[1]

    def keep(self, key: StorageKey, change: _Change) -> None:
        self._changes.pop(key, None)
        if len(self._changes) >= self._max_entries:
            del self._changes[next(iter(self._changes))]  # the oldest
        self._changes[key] = (self._clock(), change)

    def forget(self, key: StorageKey) -> None:
        self._changes.pop(key, None)


class Conversation(FSMContext):
    """The FSM context of one update: reads once, writes once, at the end.

    `unsaved` is shared by every update's conversation: changes whose write failed, by key.
    """

    def __init__(
        self,
        context: FSMContext,
        update_id: int | None,
        unsaved: Unsaved,
        held: HeldConversation | str | None = None,
    ) -> None:
        super().__init__(context.storage, context.key)
        self._update_id = update_id
        self._unsaved = unsaved
        self._held = held
        """The conversation's lease (read and written through it), `STORAGE_DOWN`, or None
        when this process alone serves the user."""
        carried = unsaved.get(self.key)
        self._change = replace(carried) if carried else _Change()
        self._read: tuple[str | None, Mapping[str, Any]] | None = None
        self.refused_as_handled = False
        """The final write found this update already recorded (a redelivery)."""

    async def get_state(self) -> str | None:
        if not isinstance(self._change.state, _Unchanged):
            return self._change.state
        return (await self._stored())[0]

    async def set_state(self, state: StateType = None) -> None:
        await self._check_not_handled()
        self._change.state = state.state if isinstance(state, State) else state

    async def get_data(self) -> dict[str, Any]:
        if not isinstance(self._change.data, _Unchanged):
            return dict(self._change.data)
        return dict((await self._stored())[1])

    async def set_data(self, data: Mapping[str, Any]) -> None:
        await self._check_not_handled()
        self._change.data = dict(data)

    async def update_data(
        self, data: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        merged = await self.get_data() | dict(data or {}) | kwargs
        self._change.data = merged
        return dict(merged)

    async def clear(self) -> None:
        await self._check_not_handled()
        self._change = _Change(state=None, data={})

    async def flush(self, *, record: bool = True) -> None:
        """Write the changes, if any (an earlier update's unsaved ones included), recording
        the update as handled unless `record` is false (the update failed). Under a lease,
        hand them to the lease, whose release is the write, and record every update."""
        if self._held is not None and not isinstance(self._held, str):
            if self._change:
                state, data = await self._resolved(self._change)
                self._held.stage(state, data)
            if record and self._update_id is not None:
                self._held.mark_handled(self._update_id)
            return
        if not self._change:
            return
        try:
            with outside_budget():
                await self._write(self._change, self._update_id if record else None)
        except StorageUnavailable as error:
            self._unsaved.keep(self.key, self._change)
            log.warning("conversation change kept in memory until it can be written (%s)", error)
        except RequestAlreadyHandled:
            self._unsaved.forget(self.key)
            self.refused_as_handled = True
            log.info("update %s was handled before; its changes were not written", self._update_id)
        else:
            self._unsaved.forget(self.key)

    async def _check_not_handled(self) -> None:
        """Before a change: the read that tells a redelivery apart (a no-op once read, and
        for a storage that keeps no record)."""
        if self._held is not None or isinstance(self.storage, ConversationStore):
            await self._stored()

    async def _stored(self) -> tuple[str | None, Mapping[str, Any]]:
        """The conversation as stored, read once; raises `RequestAlreadyHandled` when this
        update was handled to the end before."""
        if self._read is None:
            if self._held == STORAGE_DOWN:
                raise StorageUnavailable("the conversation's lease could not be taken")
            if self._held is not None and not isinstance(self._held, str):
                # The lease was taken before the update's duplicate check: no read here.
                snapshot = self._held.snapshot
                self._read = (snapshot.state, snapshot.data)
            elif isinstance(self.storage, ConversationStore):
                snapshot = await self.storage.read(self.key)
                if self._update_id in snapshot.handled:
                    raise RequestAlreadyHandled(self._update_id or 0)
                self._read = (snapshot.state, snapshot.data)
            else:
                storage = self.storage
                self._read = (await storage.get_state(self.key), await storage.get_data(self.key))
        return self._read

    async def _resolved(self, change: _Change) -> tuple[str | None, dict[str, Any] | None]:
        """The state to write (read first if only the data changed, which is rare) and the
        data, None if unchanged."""
        state = change.state
        if isinstance(state, _Unchanged):
            state = (await self._stored())[0]
        return state, None if isinstance(change.data, _Unchanged) else change.data

    async def _write(self, change: _Change, update_id: int | None) -> None:
        state, data = await self._resolved(change)
        if isinstance(self.storage, ConversationStore):
            await self.storage.write(self.key, state, data, update_id)
            return
        await self.storage.set_state(self.key, state)
        if data is not None:
            await self.storage.set_data(self.key, data)


class LazyFSMMiddleware(FSMContextMiddleware):
    """Provides `state` (a `Conversation`) without touching storage until something asks
    for it, and writes its changes once the handler has returned."""

    def __init__(self, storage: BaseStorage, unsaved_max_age_seconds: float) -> None:
        super().__init__(storage=storage, events_isolation=DisabledEventIsolation())
        self._unsaved = Unsaved(unsaved_max_age_seconds)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.resolve_event_context(cast(Bot, data["bot"]), data)
        data["fsm_storage"] = self.storage
        if context is None:
            return await handler(event, data)
        update_id = event.update_id if isinstance(event, Update) else None
        held = data.get(HELD_KEY)
        conversation = data["state"] = Conversation(context, update_id, self._unsaved, held)
        try:
            result = await handler(event, data)
        except RequestAlreadyHandled:
            set_outcome(data, "duplicate")
            return UNHANDLED
        except Exception:
            # Handlers change state only after their use case succeeded: what is here
            # happened, even if the reply failed. Not recorded: the update did not finish.
            await conversation.flush(record=False)
            raise
        await conversation.flush()
        if conversation.refused_as_handled:
            set_outcome(data, "duplicate")
        return result
