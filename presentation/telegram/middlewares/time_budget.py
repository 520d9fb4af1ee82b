"""Each update gets one time budget for all its storage work, so the user hears back (an
answer or an apology) within it however many round trips the step needs."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from application.time_budget import time_budget


class StorageTimeBudget(BaseMiddleware):
    """Outer update middleware, inside the user's lock: waiting for one's turn is not
    counted, but the errors router's reads are."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        with time_budget(self._seconds):
            return await handler(event, data)
