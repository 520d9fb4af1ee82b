import asyncio
import gc
import weakref
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, GetUserProfilePhotos, SendMessage, TelegramMethod
from aiogram.methods.base import Response

from presentation.entrypoints.polling.acknowledged import GetUpdatesAsJson
from presentation.telegram.bot_api import (
    CountTelegramRequests,
    KeepResponseModels,
    RetryTelegramRequests,
    telegram_session,
)

SEND = SendMessage(chat_id=7, text="hi")


class FakeRequest:
    """The next step of the session: fails with each of `errors` in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self._errors = list(errors)
        self.attempts = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Response[Any]:
        self.attempts += 1
        if self._errors:
            raise self._errors.pop(0)
        return Response[Any](ok=True, result=True)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def bot() -> Bot:
    return Bot("42:TEST-TOKEN")


def retry_after(seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(method=SEND, message="Too Many Requests", retry_after=seconds)


def server_error() -> TelegramServerError:
    return TelegramServerError(method=SEND, message="Bad Gateway")


async def test_a_429_waits_as_long_as_telegram_asks_then_succeeds(bot: Bot) -> None:
    sleeps, request = Sleeps(), FakeRequest(retry_after(3))

    response = await RetryTelegramRequests(sleep=sleeps)(request, bot, SEND)

    assert response.ok
    assert (request.attempts, sleeps.delays) == (2, [3])


async def test_a_429_asking_longer_than_the_maximum_wait_fails_at_once(bot: Bot) -> None:
    sleeps, request = Sleeps(), FakeRequest(retry_after(31))

    with pytest.raises(TelegramRetryAfter):
        await RetryTelegramRequests(max_wait=30, sleep=sleeps)(request, bot, SEND)

    assert (request.attempts, sleeps.delays) == (1, [])


async def test_server_errors_back_off_exponentially_and_give_up_after_the_last_attempt(
    bot: Bot,
) -> None:
    sleeps, request = Sleeps(), FakeRequest(*(server_error() for _ in range(4)))

    with pytest.raises(TelegramServerError):
        await RetryTelegramRequests(attempts=4, first_delay=0.5, sleep=sleeps)(request, bot, SEND)

    assert (request.attempts, sleeps.delays) == (4, [0.5, 1.0, 2.0])


async def test_a_dropped_connection_is_retried(bot: Bot) -> None:
    sleeps, request = Sleeps(), FakeRequest(TelegramNetworkError(method=SEND, message="reset"))

    assert (await RetryTelegramRequests(sleep=sleeps)(request, bot, SEND)).ok
    assert request.attempts == 2


async def test_get_updates_is_left_to_pollings_own_backoff(bot: Bot) -> None:
    sleeps, request = Sleeps(), FakeRequest(server_error())

    with pytest.raises(TelegramServerError):
        await RetryTelegramRequests(sleep=sleeps)(request, bot, GetUpdates())

    assert (request.attempts, sleeps.delays) == (1, [])


def test_the_session_sends_to_the_configured_bot_api_url() -> None:
    session = telegram_session("http://127.0.0.1:8081/custom")

    url = session.api.api_url(token="42:TEST-TOKEN", method="sendMessage")

    assert url == "http://127.0.0.1:8081/custom/bot42:TEST-TOKEN/sendMessage"


async def test_every_attempt_is_counted_with_its_outcome(bot: Bot) -> None:
    seen: list[tuple[str, str]] = []
    request = FakeRequest(retry_after(1), server_error())
    count = CountTelegramRequests(lambda method, status: seen.append((method, status)))

    async def counted(bot: Bot, method: TelegramMethod[Any]) -> Response[Any]:
        return await count(request, bot, method)

    await RetryTelegramRequests(sleep=Sleeps())(counted, bot, SEND)

    assert seen == [("SendMessage", "429"), ("SendMessage", "5xx"), ("SendMessage", "ok")]


async def test_polling_s_own_get_updates_is_left_to_its_backoff_too(bot: Bot) -> None:
    sleeps, request = Sleeps(), FakeRequest(server_error())

    with pytest.raises(TelegramServerError):
        await RetryTelegramRequests(sleep=sleeps)(request, bot, GetUpdatesAsJson())

    assert (request.attempts, sleeps.delays) == (1, [])


async def test_polling_s_own_get_updates_is_counted_as_get_updates(bot: Bot) -> None:
    seen: list[tuple[str, str]] = []
    count = CountTelegramRequests(lambda method, status: seen.append((method, status)))

    await count(FakeRequest(), bot, GetUpdatesAsJson())

    assert seen == [("GetUpdates", "ok")]


def _answer_model_is_alive(bot: Bot, keep: KeepResponseModels | None) -> bool:
    """Whether the model aiogram parses a getUserProfilePhotos answer with survives a
    garbage collection, after one request passed `keep` (if any)."""
    method = GetUserProfilePhotos(user_id=7)
    if keep is not None:
        asyncio.run(keep(FakeRequest(), bot, method))
    model = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
    gc.collect()
    return model() is not None


def test_the_models_answers_are_parsed_with_outlive_a_garbage_collection(bot: Bot) -> None:
    assert not _answer_model_is_alive(bot, None)  # pydantic's own cache keeps it weakly
    assert _answer_model_is_alive(bot, KeepResponseModels())


def test_the_session_keeps_the_models_answers_are_parsed_with() -> None:
    session = telegram_session("http://127.0.0.1:8081")

    assert any(isinstance(m, KeepResponseModels) for m in session.middleware[:])
