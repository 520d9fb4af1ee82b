"""One user's updates are handled one at a time, in the order they arrived, and so are their
replies, the errors router's apologies included. (A flood warning is sent before the lock:
it may overtake the reply to an earlier message.)

aiogram's `SimpleEventIsolation` keeps a lock for every user it has ever seen, for the life
of the process; `UserLocks` keeps one only while an update of that user is being handled or
waiting, so its memory follows the users in flight, not the users ever served.
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.types import TelegramObject


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0
    """Updates holding or waiting for the lock."""


class UserLocks(BaseEventIsolation):
    """A lock per key, created on demand and dropped when nobody holds or awaits it.

    `asyncio.Lock` wakes waiters first come, first served, which is what keeps order.
    """

    def __init__(self) -> None:
        self._entries: dict[StorageKey, _Entry] = {}

    def __len__(self) -> int:
        """Keys with a lock in memory right now."""
        return len(self._entries)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.holders += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.holders -= 1
            if entry.holders == 0:
                del self._entries[key]

    async def close(self) -> None:
        """Nothing to release: locks live only as long as their updates."""


class UserOrder(BaseMiddleware):
    """Outer update middleware: holds the user's lock around everything inside it."""

    def __init__(self, isolation: BaseEventIsolation) -> None:
        self._isolation = isolation

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = data.get(EVENT_CONTEXT_KEY)
        if not isinstance(context, EventContext) or context.user_id is None:
            return await handler(event, data)
        bot: Bot = data["bot"]
        key = StorageKey(bot_id=bot.id, chat_id=context.chat_id or 0, user_id=context.user_id)
        async with self._isolation.lock(key):
            return await handler(event, data)
