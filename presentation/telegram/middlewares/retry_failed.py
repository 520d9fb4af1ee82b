"""An update whose handling failed is handled again, in its user's turn, for a while.

What fails here is what the errors router could not answer: the user's conversation held
by another process past `LOCK_WAIT_SECONDS`, a lease lost mid-step, the conversation's final
write refused, a reply and its apology both refused by the Bot API. A webhook answers 500
and Telegram delivers the update again; long polling has no one to redeliver it, so this
middleware does, where Telegram would: from the start of the chain inside the user's lock,
so none of the user's later updates overtakes it. A button press whose conversation was
busy or lost is not tried again: it was answered "press again", and a press cannot wait
(its spinner shows for seconds); any other failed press is, like a message (a deletion
whose reply failed still owes its confirmation). It tries for `RETRY_FOR_SECONDS`, then
lets the failure through: polling then logs it and confirms the update, since an update
that keeps failing must not hold back every later one (Telegram's `getUpdates` returns at
most 100 updates from the oldest unconfirmed).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from infrastructure.conversation.errors import ConversationBusy, ConversationLost
from presentation.telegram.middlewares.update_log import forget_outcome

log = logging.getLogger(__name__)

FIRST_DELAY_SECONDS = 1.0
LONGEST_DELAY_SECONDS = 15.0
RETRY_FOR_SECONDS = 120.0
"""How long a failing update is retried; its user waits that long at most."""


class RetryFailedUpdates(BaseMiddleware):
    """Outer update middleware, just inside the user's lock and outside the storage
    admission, so an update waiting to be tried again holds no slot meanwhile."""

    def __init__(
        self,
        retry_for_seconds: float = RETRY_FOR_SECONDS,
        first_delay_seconds: float = FIRST_DELAY_SECONDS,
        longest_delay_seconds: float = LONGEST_DELAY_SECONDS,
    ) -> None:
        self._retry_for = retry_for_seconds
        self._first_delay = first_delay_seconds
        self._longest_delay = longest_delay_seconds

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._retry_for
        delay, attempt = self._first_delay, 1
        while True:
            try:
                # A copy: what the inner middlewares put in `data` is the failed try's own.
                return await handler(event, dict(data))
            except Exception as error:
                told_to_press_again = event.callback_query is not None and isinstance(
                    error, ConversationBusy | ConversationLost
                )
                if told_to_press_again or loop.time() + delay > give_up_at:
                    raise
                log.warning(
                    "update %s failed (%s: %s); handling it again in %.0f s (try %d)",
                    event.update_id,
                    type(error).__name__,
                    error,
                    delay,
                    attempt + 1,
                )
            await asyncio.sleep(delay)
            forget_outcome(data)
            delay, attempt = min(delay * 2, self._longest_delay), attempt + 1
