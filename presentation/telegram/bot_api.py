"""The Bot API session: aiohttp against TELEGRAM_API_URL, with calls that survive
Telegram's flood limits and brief outages.

Telegram answers 429 with `retry_after` when a bot sends too fast, and 5xx or a dropped
connection when it has a bad moment; without this, a reply would be lost to either.
`getUpdates` is left to the polling loop, which has a backoff of its own. Every attempt is
counted for the metrics, by method and outcome.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


RequestObserver = Callable[[str, str], None]
"""Called with a Bot API method's name and the attempt's outcome (`ok` or an error kind)."""

_ERROR_KINDS: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"),
    (TelegramServerError, "5xx"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramBadRequest, "400"),
)


def fetches_updates(method: TelegramMethod[Any]) -> bool:
    """Whether `method` is a getUpdates, whichever class sends it (polling's own leaves the
    updates as JSON)."""
    return method.__api_method__ == "getUpdates"


def telegram_session(api_url: str, observe: RequestObserver | None = None) -> AiohttpSession:
    """A session to the Bot API at `api_url` (Telegram's, a self-hosted one, or a stand-in)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    session.middleware(KeepResponseModels())
    session.middleware(RetryTelegramRequests())
    if observe is not None:
        session.middleware(CountTelegramRequests(observe))  # inside: counts every attempt
    return session


class KeepResponseModels(BaseRequestMiddleware):
    """Holds on to the model aiogram parses each method's answer with (`Response[T]`).

    pydantic keeps a generic model's parametrisations only weakly: once the garbage
    collector has dropped `Response[Message]`, aiogram's next request builds the model
    again, a schema build each time, over and over under load."""

    def __init__(self) -> None:
        self._models: dict[object, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: "Bot",
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._models:
            self._models[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


class CountTelegramRequests(BaseRequestMiddleware):
    """Reports each request's method and outcome; `network` when no answer came at all."""

    def __init__(self, observe: RequestObserver) -> None:
        self._observe = observe

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: "Bot",
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__[:1].upper() + method.__api_method__[1:]  # SendMessage
        try:
            response = await make_request(bot, method)
        except TelegramNetworkError:
            self._observe(name, "network")
            raise
        except TelegramAPIError as error:
            kind = next((k for cls, k in _ERROR_KINDS if isinstance(error, cls)), "error")
            self._observe(name, kind)
            raise
        self._observe(name, "ok")
        return response


class RetryTelegramRequests(BaseRequestMiddleware):
    """Up to `attempts` tries per call: waits `retry_after` on 429 (unless it is longer than
    `max_wait`), and backs off exponentially from `first_delay` on 5xx and network errors.

    A retried `sendMessage` whose first answer was lost on the way back can show up twice;
    a duplicate reply is the lesser harm than a lost one.
    """

    def __init__(
        self,
        attempts: int = 4,
        first_delay: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._attempts = attempts
        self._first_delay = first_delay
        self._max_wait = max_wait
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: "Bot",
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempts = 1 if fetches_updates(method) else self._attempts
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                delay: float = error.retry_after
                if delay > self._max_wait or attempt >= attempts:
                    raise
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt >= attempts:
                    raise
                delay = self._first_delay * 2 ** (attempt - 1)
                log.debug("%s failed (%s)", type(method).__name__, type(error).__name__)
            log.warning(
                "Bot API %s: attempt %d of %d failed; retrying in %.1f s",
                type(method).__name__,
                attempt,
                attempts,
                delay,
            )
            await self._sleep(delay)
            attempt += 1
