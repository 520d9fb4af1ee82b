"""A burst of updates queues at the door instead of failing inside.

Every MongoDB call runs on a bounded executor and has a time budget counted from the moment
it is asked for. Let a thousand users write at once and most calls would spend their budget
waiting for a thread or a pooled connection, and fail as an outage would, though MongoDB
was answering all along. So only as many updates as the executor has threads do storage
work at once; the others wait here, in arrival order, before their time budget starts and
before they ask MongoDB for anything. A burst larger than the pool is answered late, not
with apologies. What waits is a coroutine per update; Telegram bounds how many are
delivered at once (webhook `max_connections`, or one `getUpdates` batch).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class StorageAdmission(BaseMiddleware):
    """Outer update middleware inside the user's lock (so waiting keeps the user's order)
    and outside everything that may call MongoDB: the conversation lease, the language,
    the time budget, the handlers and the errors router."""

    def __init__(self, at_once: int) -> None:
        if at_once < 1:
            raise ValueError("at least one update must be let in")
        self._slots = asyncio.Semaphore(at_once)
        self.waiting = 0
        """Updates waiting for their turn right now."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            return await handler(event, data)
        finally:
            self._slots.release()
