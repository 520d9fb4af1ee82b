"""Per-user flood control, before anything touches MongoDB.

A token bucket per user: `burst` updates at once, refilled at `per_minute`. An update over
the limit is dropped, and the user is told so once per flood rather than once per message.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.types import TelegramObject, Update, User

from presentation.telegram import texts
from presentation.telegram.middlewares.callback_answers import answer_quietly
from presentation.telegram.middlewares.update_log import set_outcome

PRUNE_AT = 10_000
"""Buckets kept before the full ones are forgotten."""


async def tell_throttled(bot: Bot, update: Update, *, warn: bool) -> None:
    """A dropped update's one answer: the warning, once per flood, in a private chat; and
    a pressed button is answered every time (quietly after the warning), so its spinner
    stops."""
    if update.callback_query is not None:
        text = texts.slow_down_presses() if warn else None
        await answer_quietly(bot, update.callback_query.id, text)
    elif warn and update.message is not None and update.message.chat.type == ChatType.PRIVATE:
        await bot.send_message(update.message.chat.id, texts.slow_down())


def take_token(
    tokens: float, elapsed_seconds: float, burst: float, per_second: float
) -> tuple[bool, float]:
    """The token bucket's one rule: refill for the time elapsed, then take a token if there
    is one. Returns whether the update is admitted and the tokens left."""
    tokens = min(burst, tokens + max(elapsed_seconds, 0.0) * per_second)
    if tokens < 1:
        return False, tokens
    return True, tokens - 1


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class FloodControl(BaseMiddleware):
    """Outer update middleware; needs aiogram's `event_from_user`. Warns only in a private
    chat: a flood warning has no business in a group."""

    def __init__(
        self,
        burst: int,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        prune_at: int = PRUNE_AT,
    ) -> None:
        self._prune_at = prune_at
        self._burst = float(burst)
        self._rate = per_minute / 60
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    @property
    def users_tracked(self) -> int:
        """Users with a bucket in memory; pruning keeps this near the number of recent floods."""
        return len(self._buckets)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if not isinstance(user, User) or self._admit(user.id):
            return await handler(event, data)
        set_outcome(data, "throttled")
        bucket = self._buckets[user.id]
        warn = not bucket.warned
        bucket.warned = True
        if isinstance(event, Update):
            await tell_throttled(data["bot"], event, warn=warn)
        return None

    def _admit(self, user_id: int) -> bool:
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[user_id] = _Bucket(tokens=self._burst, updated=now)
        admitted, bucket.tokens = take_token(
            bucket.tokens, now - bucket.updated, self._burst, self._rate
        )
        bucket.updated = now
        if admitted:
            bucket.warned = False
        return admitted

    def _prune(self, now: float) -> None:
        """Forget users whose bucket has refilled: they are as good as new."""
        full = [
            user_id
            for user_id, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate >= self._burst
        ]
        for user_id in full:
            del self._buckets[user_id]
