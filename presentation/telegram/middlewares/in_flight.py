"""Knows which updates are still being handled, so shutdown can wait for them.

aiogram's polling handles each update in a task of its own and, when stopped, does not wait
for those tasks; without this, a SIGTERM could cut a registration off half-way.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InFlight:
    """A count of work in progress that shutdown can wait to reach zero."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @asynccontextmanager
    async def tracking(self) -> AsyncIterator[None]:
        """Counts the block as in progress while it runs."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, grace_seconds: float) -> bool:
        """Wait until nothing is in progress; False if `grace_seconds` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            return False
        return True


class InFlightUpdates(InFlight, BaseMiddleware):
    """Outer update middleware counting the updates in progress."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.tracking():
            return await handler(event, data)
