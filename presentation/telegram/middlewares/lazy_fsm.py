"""aiogram's FSM, made lazy and frugal with MongoDB round trips.

aiogram's own FSM middleware reads the state before any handler runs, so even /help costs a
round trip and fails while the database is down, and `FSMContext.clear()` is two writes.
Here the state is read when a filter or handler first asks, at most once per update, and
clearing is one write. aiogram's `StateFilter` reads `raw_state`, which is not provided
here: filter on state with `presentation.telegram.filters.InState`.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast, runtime_checkable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import DEFAULT_DESTINY, StateType, StorageKey
from aiogram.types import TelegramObject


@runtime_checkable
class OneWriteClear(Protocol):
    """A storage that can end a conversation (state and data) in a single write."""

    async def clear(self, key: StorageKey) -> None: ...


class _Unread:
    pass


_UNREAD: Final = _Unread()


class Conversation(FSMContext):
    """The FSM context of one update: remembers the state it has read or written."""

    def __init__(self, context: FSMContext) -> None:
        super().__init__(context.storage, context.key)
        self._state: str | _Unread | None = _UNREAD

    async def get_state(self) -> str | None:
        if isinstance(self._state, _Unread):
            self._state = await super().get_state()
        return self._state

    async def set_state(self, state: StateType = None) -> None:
        await super().set_state(state)
        self._state = state.state if isinstance(state, State) else state

    async def clear(self) -> None:
        if isinstance(self.storage, OneWriteClear):
            await self.storage.clear(self.key)
        else:
            await super().clear()
        self._state = None


class LazyFSMMiddleware(FSMContextMiddleware):
    """Provides `state` (a `Conversation`) and keeps one user's updates in order, without
    touching storage until something asks for the state."""

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
        data["state"] = context
        async with self.events_isolation.lock(key=context.key):
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
            super().get_context(bot, chat_id, user_id, thread_id, business_connection_id, destiny)
        )
