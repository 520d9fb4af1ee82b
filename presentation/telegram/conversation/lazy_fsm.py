"""aiogram's FSM, made lazy, frugal with round trips, and safe against redelivery.

aiogram's own FSM middleware reads the state before any handler runs, so even /help costs a
round trip and fails while the database is down; it writes every change at once, and
`FSMContext.clear()` takes two writes. Here:

- the conversation is read when a filter or handler first asks, at most once per update;
- changes are kept until the handler has returned, replies sent, then written in one write
  that also records the update as handled. A crash before that write leaves the update
  unrecorded, so its redelivery is handled again (use cases are idempotent for that) and the
  user gets the answer they were owed; after it, a redelivery is recognised by the read that
  precedes any change (a change without a read reads first) and dropped. If the handler
  fails after its use case succeeded (its reply could not be sent), its change is still
  written, unrecorded, with the conversation as it was kept for that update alone
  (`changes.OwedStep`): the user's next message is read after the step, and the failed
  update, delivered again, is handled as before it and answers again. A reply refused for
  good (403: the user blocked the bot) ends the update as handled, counted as `refused`.

Where the read comes from and what the write is depends on the storage mode
(`access`). aiogram's `StateFilter` reads `raw_state`, which is not provided here (it would
cost every update a read): building a dispatcher that uses it fails, naming the handler;
filter on state with `presentation.telegram.filters.InState`. Keeping one user's updates in
order is `UserOrder`'s job, further out, so that error replies are in order too.
"""

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, cast

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import TelegramObject, Update

from infrastructure.conversation.errors import RequestAlreadyHandled
from presentation.telegram.conversation.access import (
    ACCESS_KEY,
    ConversationAccess,
    Stored,
    access_without_lease,
)
from presentation.telegram.conversation.changes import (
    Change,
    OwedStep,
    Unchanged,
    Unsaved,
    split_owed,
    with_owed,
)
from presentation.telegram.conversation.ports import AnsweredSteps
from presentation.telegram.middlewares.update_log import set_outcome

log = logging.getLogger(__name__)


class Conversation(FSMContext):
    """The FSM context of one update: reads once, writes once, at the end.

    `unsaved` is shared by every update's conversation: changes whose write failed, by key.
    """

    def __init__(
        self,
        context: FSMContext,
        access: ConversationAccess,
        unsaved: Unsaved,
        update_id: int | None,
    ) -> None:
        super().__init__(context.storage, context.key)
        self._access = access
        self._update_id = update_id
        self._owed: OwedStep | None = None
        """This update's own step, owed to it because it failed after its effect."""
        self._kept_owed: OwedStep | None = None
        """A step the conversation owes another update: kept by a write that changes
        nothing of the conversation, dropped by one that does (the conversation moved on,
        so that step's redelivery must not be handled from where it started)."""
        self._changed_here = False
        self._change = self._carried(unsaved.get(self.key))
        self._read: Stored | None = None
        self._settles_owed = False
        """This update is the owed step, delivered again: its write settles it."""
        self.refused_as_handled = False
        """The final write found this update already recorded (a redelivery)."""

    async def get_state(self) -> str | None:
        if not isinstance(self._change.state, Unchanged):
            return self._change.state
        return (await self._stored())[0]

    async def set_state(self, state: StateType = None) -> None:
        await self._check_not_handled()
        self._changed_here = True
        self._change.state = state.state if isinstance(state, State) else state

    async def get_data(self) -> dict[str, Any]:
        if not isinstance(self._change.data, Unchanged):
            return dict(self._change.data)
        return dict((await self._stored())[1])

    async def set_data(self, data: Mapping[str, Any]) -> None:
        await self._check_not_handled()
        self._changed_here = True
        self._change.data = dict(data)

    async def update_data(
        self, data: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        merged = await self.get_data() | dict(data or {}) | kwargs
        self._changed_here = True
        self._change.data = merged
        return dict(merged)

    async def clear(self) -> None:
        await self._check_not_handled()
        self._changed_here = True
        self._change = Change(state=None, data={})

    async def flush(self, *, record: bool = True) -> None:
        """Write the changes, if any (an earlier update's unsaved ones included), recording
        the update as handled unless `record` is false (the update failed).

        A failed update's change is written all the same (handlers change the conversation
        only once their use case succeeded: it happened), with the conversation as this
        update read it kept as owed to it: delivered again, it is handled from there and
        answers as the first time would have."""
        read = self._read  # a change reads first: what this update started from
        if not record and self._change and self._update_id is not None and read is not None:
            before_state, before_data = read
            self._owed = OwedStep(self._update_id, before_state, dict(before_data))
            self._settles_owed = False
        self.refused_as_handled = await self._access.finish(
            self._change, self._resolved, record=record
        )

    async def _check_not_handled(self) -> None:
        """Before a change: the read that tells a redelivery apart and finds the step the
        conversation owes (a no-op once read)."""
        await self._stored()

    async def _stored(self) -> Stored:
        """The conversation as this update is to see it, read once: as it was before the
        step it owes, if this update is that step; raises `RequestAlreadyHandled` when this
        update was handled to the end before."""
        if self._read is None:
            state, stored = await self._access.read()
            data, owed = split_owed(stored)
            if owed is not None and owed.update_id == self._update_id:
                self._read, self._settles_owed = (owed.state, owed.data), True
            else:
                self._read, self._kept_owed = (state, data), self._kept_owed or owed
        return self._read

    def _carried(self, carried: Change | None) -> Change:
        """An earlier update's change that could not be written, to start from; not for
        the update it owes a step to (it reads what is stored: the conversation before)."""
        if carried is None:
            return Change()
        if isinstance(carried.data, Unchanged):
            return replace(carried)
        data, owed = split_owed(carried.data)
        if owed is not None and owed.update_id == self._update_id:
            return Change()
        self._kept_owed = owed
        return Change(state=carried.state, data=data)

    async def _resolved(self, change: Change) -> tuple[str | None, dict[str, Any] | None]:
        """The state to write (read first if only the data changed, which is rare) and the
        data, None if unchanged; whole, with the step still owed, when there is one to keep
        or to settle."""
        state = change.state
        if isinstance(state, Unchanged):
            state = (await self._stored())[0]
        data = None if isinstance(change.data, Unchanged) else change.data
        await self._stored()  # an earlier update's unsaved change may come unread
        if self._owed is not None or self._settles_owed or self._kept_owed is not None:
            data = with_owed((await self._stored())[1] if data is None else data, self._owed_now())
        return state, data

    def _owed_now(self) -> OwedStep | None:
        """The step the conversation owes once this update's write lands: its own, if it
        failed after its effect; none, if it is the owed step delivered again; another
        update's, only while nothing of the conversation has changed since."""
        if self._owed is not None or self._settles_owed:
            return self._owed
        return None if self._changed_here else self._kept_owed


class LazyFSMMiddleware(FSMContextMiddleware):
    """Provides `state` (a `Conversation`) without touching storage until something asks
    for it, and writes its changes once the handler has returned. Under a lease, the lease
    middleware hands it the update's access (`ACCESS_KEY`); otherwise the storage's."""

    def __init__(
        self,
        storage: BaseStorage,
        answered: AnsweredSteps,
        unsaved_max_age_seconds: float,
        unsaved_max_entries: int = 10_000,
    ) -> None:
        super().__init__(storage=storage, events_isolation=DisabledEventIsolation())
        self._unsaved = Unsaved(unsaved_max_age_seconds, unsaved_max_entries)
        self._open = access_without_lease(storage, self._unsaved, answered)

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
        access = data.get(ACCESS_KEY) or self._open(
            context.key, event.update_id if isinstance(event, Update) else None
        )
        update_id = event.update_id if isinstance(event, Update) else None
        conversation = Conversation(context, access, self._unsaved, update_id)
        data["state"] = conversation
        try:
            result = await handler(event, data)
        except RequestAlreadyHandled:
            set_outcome(data, "duplicate")
            return UNHANDLED
        except TelegramForbiddenError as error:
            # The user blocked the bot (or left the chat): no redelivery will get the reply
            # through, so the step is done as far as it could go.
            log.info("update %s: the Bot API refused the reply for good (%s)", update_id, error)
            set_outcome(data, "refused")
            await conversation.flush()
            return None
        except Exception:
            # Handlers change state only after their use case succeeded: what is here
            # happened, even if the reply failed; owed to the update, which is not
            # recorded: it did not finish, and its redelivery answers again.
            await conversation.flush(record=False)
            raise
        await conversation.flush()
        if conversation.refused_as_handled:
            set_outcome(data, "duplicate")
        return result


def refuse_aiogram_state_filters(router: Router) -> None:
    """Fail now, not silently later: aiogram's `StateFilter` (or a `State` used as a
    filter) reads `raw_state`, which the lazy FSM does not provide, so it would never
    match."""
    for where in aiogram_state_filters(router):
        raise TypeError(
            f"{where} filters on aiogram's StateFilter, which reads raw_state; the lazy FSM"
            " does not provide it, so it would never match: use"
            " presentation.telegram.filters.InState"
        )


def aiogram_state_filters(router: Router) -> Iterator[str]:
    """Where `router` and its sub-routers filter on `raw_state`."""
    for observer_name, observer in router.observers.items():
        handlers = [("router filter", observer._handler)]
        handlers += [(repr(h.callback), h) for h in observer.handlers]
        for where, handler in handlers:
            for filter_object in handler.filters or []:
                if isinstance(filter_object.callback, StateFilter | State):
                    yield f"{router.name}.{observer_name}: {where}"
    for sub_router in router.sub_routers:
        yield from aiogram_state_filters(sub_router)
