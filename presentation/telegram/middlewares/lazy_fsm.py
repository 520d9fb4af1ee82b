"""aiogram's FSM, made lazy and frugal with MongoDB round trips.

aiogram's own FSM middleware reads the state before any handler runs, so even /help costs a
round trip and fails while the database is down, and `FSMContext.clear()` is two writes.
Here the state is read when a filter or handler first asks, at most once per update, and
clearing is one write. aiogram's `StateFilter` reads `raw_state`, which is not provided
here: filter on state with `presentation.telegram.filters.InState`. Keeping one user's
updates in order is `UserOrder`'s job, further out, so that error replies are in order too.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast, runtime_checkable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import TelegramObject

from application.errors import StorageUnavailable

log = logging.getLogger(__name__)


@runtime_checkable
class OneWriteClear(Protocol):
    """A storage that can end a conversation (state and data) in a single write."""

    async def clear(self, key: StorageKey) -> None: ...


class _Unread:
    pass


_UNREAD: Final = _Unread()


class Conversation(FSMContext):
    """The FSM context of one update: remembers the state it has read or written.

    `unfinished` is shared by every update's conversation: keys of conversations whose
    effect happened but whose end could not be written (see `finish`).
    """

    def __init__(self, context: FSMContext, unfinished: set[StorageKey]) -> None:
        super().__init__(context.storage, context.key)
        self._state: str | _Unread | None = _UNREAD
        self._unfinished = unfinished

    async def get_state(self) -> str | None:
        if isinstance(self._state, _Unread) and not await self._end_unfinished():
            self._state = await super().get_state()
        return None if isinstance(self._state, _Unread) else self._state

    async def set_state(self, state: StateType = None) -> None:
        await self._end_unfinished()
        await super().set_state(state)
        self._state = state.state if isinstance(state, State) else state

    async def clear(self) -> None:
        if isinstance(self.storage, OneWriteClear):
            await self.storage.clear(self.key)
        else:
            await super().clear()
        self._unfinished.discard(self.key)
        self._state = None

    async def finish(self) -> None:
        """End the conversation after its effect has happened (registered, renamed, deleted).

        The user must hear what happened even if this last write fails, so a storage failure
        is not raised: the conversation is remembered as over in this process and ended for
        good the next time one of this user's updates asks for its state.
        """
        try:
            await self.clear()
        except StorageUnavailable as error:
            self._unfinished.add(self.key)
            self._state = None
            log.warning("could not end a finished conversation yet (%s); will retry", error)

    async def _end_unfinished(self) -> bool:
        """If an earlier `finish` could not write, write it now; True if it did."""
        if self.key not in self._unfinished:
            return False
        await self.clear()
        return True


class LazyFSMMiddleware(FSMContextMiddleware):
    """Provides `state` (a `Conversation`) without touching storage until something asks
    for the state."""

    def __init__(self, storage: BaseStorage) -> None:
        super().__init__(storage=storage, events_isolation=DisabledEventIsolation())
        self._unfinished: set[StorageKey] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.resolve_event_context(cast(Bot, data["bot"]), data)
        data["fsm_storage"] = self.storage
        if context is not None:
            data["state"] = context
        return await handler(event, data)

    def get_context(  # noqa: PLR0917 - aiogram's signature
        self,
        bot: Bot,
        chat_id: int,
        user_id: int,
        thread_id: int | None = None,
        business_connection_id: str | None = None,
        destiny: str = DEFAULT_DESTINY,
    ) -> FSMContext:
        return Conversation(
            super().get_context(bot, chat_id, user_id, thread_id, business_connection_id, destiny),
            self._unfinished,
        )
