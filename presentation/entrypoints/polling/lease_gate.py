"""The poller lease's side in the Bot API session: getUpdates leaves only under the lease
(`infrastructure.poller_lease_keeper`, which explains why this is enough)."""

from typing import cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from infrastructure.poller_lease_keeper import LeaseKeeper
from presentation.telegram.bot_api import fetches_updates


class LeaseGate(BaseRequestMiddleware):
    """The one place a getUpdates leaves this process: only while the lease is held, and
    with a long-poll timeout that ends at Telegram before the lease could pass to another
    poller. Other methods (replies) pass untouched: an update fetched under the lease may
    be answered after it."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self._keeper = keeper

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not fetches_updates(method):
            return await make_request(bot, method)
        wanted: int = getattr(method, "timeout", None) or 0
        seconds = await self._keeper.allowed_poll_seconds(wanted)
        if seconds is None:
            # Not sent: no updates. The lease is lost, so polling is stopping already.
            # (The chain really returns the method's result, not a `Response`.)
            return cast(Response[TelegramType], [])
        if seconds < wanted:
            method = method.model_copy(update={"timeout": seconds})
        ends = self._keeper.poll_sent(seconds)
        try:
            response = await make_request(bot, method)
        except TelegramNetworkError:
            raise  # no answer: it may still be running at Telegram
        except TelegramAPIError:
            self._keeper.poll_answered(ends)  # answered, with an error
            raise
        self._keeper.poll_answered(ends)
        return response
