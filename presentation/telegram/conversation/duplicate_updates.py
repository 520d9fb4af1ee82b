"""Drops an update whose `update_id` was already seen, as a webhook retry or a re-fetch
after a network error would deliver it; unless its handling failed, since Telegram
delivers a failed update again for it to be handled (and answered) after all."""

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from presentation.telegram.middlewares.update_log import set_outcome


class DuplicateUpdates(BaseMiddleware):
    """Remembers the last `capacity` update ids (0.9 MB at the default, measured with
    tracemalloc)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._seen)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            if event.update_id in self._seen:
                set_outcome(data, "duplicate")
                return None
            self._remember(event.update_id)
            try:
                return await handler(event, data)
            except Exception:
                self._seen.discard(event.update_id)
                raise
        return await handler(event, data)

    def _remember(self, update_id: int) -> None:
        self._seen.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self._capacity:
            self._seen.discard(self._order.popleft())
