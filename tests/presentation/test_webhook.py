"""The webhook server in-process: the real container and dispatcher on in-memory storage,
a real aiohttp server on a free loopback port, the Bot API answered locally; and the
webhook commands' configuration checks. No MongoDB, no process."""

import asyncio
import contextlib
import json
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramNetworkError
from aiogram.methods import DeleteWebhook, SendMessage, SetMyCommands, SetWebhook, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from dependency_injector import providers
from pydantic import SecretStr

from infrastructure.embedded_mongo import free_loopback_port
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.cli import NO_WEBHOOK_SECRET, main
from presentation.entrypoints.interruption import Interrupted
from presentation.entrypoints.terminal.local_session import LocalBotSession
from presentation.entrypoints.webhook.registration import (
    delete_webhook,
    set_webhook,
    used_update_types,
)
from presentation.entrypoints.webhook.serve import MAX_BODY_BYTES, SECRET_HEADER, run_webhook
from presentation.telegram import texts
from tests.conversations.conftest import InMemoryStorage
from tests.presentation.conftest import private_update

BOT_TOKEN = "42:TEST-TOKEN"
SECRET = "webhook-SECRET_for-tests"
PATH = "/telegram/webhook"
ADA = 7


class HeldBotApi(LocalBotSession):
    """Answers locally, except that calls of a held method wait until released. On close,
    notes whether the webhook's port still took connections then."""

    def __init__(self, port: int) -> None:
        self.requests: list[TelegramMethod[Any]] = []
        super().__init__(self.requests.append)
        self.waiting: list[TelegramMethod[Any]] = []
        self.listening_at_close: bool | None = None
        self._port = port
        self._held: dict[type[TelegramMethod[Any]], asyncio.Event] = {}
        self.refusals: list[Callable[..., Exception]] = []
        """Errors the next messages are refused with, one each."""

    def hold(self, method: type[TelegramMethod[Any]]) -> None:
        self._held.setdefault(method, asyncio.Event())

    def release(self, method: type[TelegramMethod[Any]]) -> None:
        if (held := self._held.pop(method, None)) is not None:
            held.set()

    def release_all(self) -> None:
        for method in list(self._held):
            self.release(method)

    def texts(self) -> list[str]:
        return [r.text for r in self.requests if isinstance(r, SendMessage)]

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if (held := self._held.get(type(method))) is not None:
            self.waiting.append(method)
            await held.wait()
        if isinstance(method, SendMessage) and self.refusals:
            raise self.refusals.pop(0)(method=method, message="refused")
        return await super().make_request(bot, method, timeout)

    async def close(self) -> None:
        self.listening_at_close = await accepts_connections(self._port)


async def accepts_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the condition is plain state, not an event
            await asyncio.sleep(0.01)


@dataclass
class Webhook:
    """A started container whose `run_webhook` the test starts; what it fed and sent."""

    container: Container
    api: HeldBotApi
    port: int
    http: aiohttp.ClientSession
    fed: list[Update] = field(default_factory=list)
    task: "asyncio.Task[None] | None" = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Run the webhook until it takes connections (or raise what stopped it)."""
        self.task = task = asyncio.create_task(run_webhook(self.container))
        async with asyncio.timeout(10):
            # A port to poll: nothing in this process could set an event for it.
            while not task.done() and not await accepts_connections(self.port):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        if task.done():
            task.result()

    async def post(
        self,
        body: bytes,
        secret: str | None = SECRET,
        content_type: str = "application/json",
        http: aiohttp.ClientSession | None = None,
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with (http or self.http).post(
            self.base + PATH, data=body, headers=headers
        ) as response:
            return response.status, await response.read()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as response:
            return response.status, await response.text()


def update_body(update_id: int, text: str, user_id: int = ADA) -> bytes:
    """An update as Telegram sends it: JSON with Telegram's field names (`from`)."""
    update = private_update(update_id, user_id, text)
    return json.dumps(update.model_dump(mode="json", by_alias=True, exclude_none=True)).encode()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        webhook_secret=SecretStr(SECRET),
        webhook_host="127.0.0.1",
        webhook_port=free_loopback_port(),
        webhook_path=PATH,
        event_isolation="local",  # one replica, on the in-memory storage
        shutdown_grace_seconds=5,
        mongo_operation_timeout_ms=1000,
        flood_burst=10_000,
    )


@pytest.fixture
async def webhook(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Webhook]:
    caplog.set_level(logging.DEBUG)
    api = HeldBotApi(settings.webhook_port)
    container = Container(settings=settings)
    container.mode.override(providers.Object("webhook"))
    container.bot_token.override(providers.Object(BOT_TOKEN))
    container.bot_session.override(providers.Object(api))
    container.storage.override(InMemoryStorage())
    await asyncio.to_thread(lifecycle.start, container)
    async with aiohttp.ClientSession() as http:
        running = Webhook(container, api, settings.webhook_port, http)
        dispatcher = container.dispatcher()
        feed = dispatcher.feed_update

        async def fed(bot: Bot, update: Update, **kwargs: Any) -> Any:
            running.fed.append(update)
            return await feed(bot, update, **kwargs)

        monkeypatch.setattr(dispatcher, "feed_update", fed)
        try:
            yield running
        finally:
            api.release_all()
            if running.task is not None and not running.task.done():
                running.task.cancel()
            if running.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running.task
            await asyncio.to_thread(lifecycle.stop, container)
    assert SECRET not in caplog.text


async def test_a_valid_update_is_answered_200_only_after_it_was_handled(
    webhook: Webhook,
) -> None:
    await webhook.start()
    webhook.api.hold(SendMessage)

    posting = asyncio.create_task(webhook.post(update_body(1, "/start")))
    await eventually(lambda: bool(webhook.api.waiting))  # the reply is on its way...
    await asyncio.sleep(0.2)
    assert not posting.done()  # ...and Telegram has no answer yet

    webhook.api.release(SendMessage)
    assert await posting == (200, b"")  # no Bot API method in the answer
    assert webhook.api.texts() == [texts.ask_name()]  # the reply went through the Bot API


async def test_a_rename_whose_reply_failed_is_answered_renamed_when_posted_again(
    webhook: Webhook,
) -> None:
    await webhook.start()
    for update_id, text in enumerate(["/start", "Ada", "/rename"], start=1):
        assert await webhook.post(update_body(update_id, text)) == (200, b"")
    webhook.api.refusals = [TelegramNetworkError] * 2  # the reply, then the apology

    assert (await webhook.post(update_body(4, "Bob")))[0] == 500
    assert await webhook.post(update_body(5, "thanks")) == (200, b"")  # overtakes it
    assert await webhook.post(update_body(4, "Bob")) == (200, b"")

    assert webhook.api.texts()[-2:] == [texts.unknown_input("thanks"), texts.renamed("Bob")]


async def test_a_reply_refused_for_good_is_answered_200_and_not_handled_again(
    webhook: Webhook,
) -> None:
    await webhook.start()
    for update_id, text in enumerate(["/start", "Ada", "/rename"], start=1):
        await webhook.post(update_body(update_id, text))
    webhook.api.refusals = [TelegramForbiddenError] * 2  # the user blocked the bot

    assert await webhook.post(update_body(4, "Bob")) == (200, b"")
    assert webhook.api.refusals == [TelegramForbiddenError]  # no apology was tried
    replies_before = len(webhook.api.texts())
    assert await webhook.post(update_body(4, "Bob")) == (200, b"")
    assert webhook.api.refusals == [TelegramForbiddenError]  # nothing was sent, so none used
    assert len(webhook.api.texts()) == replies_before  # not handled again: nothing said
    assert [u.name.value for u in webhook.container.storage.user_repository().users.values()] == [
        "Bob"
    ]


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET.upper(), SECRET + "x", "ü"])
async def test_a_missing_or_wrong_secret_is_401_and_nothing_is_handled(
    webhook: Webhook, secret: str | None
) -> None:
    await webhook.start()

    assert await webhook.post(update_body(1, "/start"), secret=secret) == (401, b"")
    assert webhook.fed == []
    assert webhook.api.texts() == []


async def test_a_body_that_is_not_json_is_415(webhook: Webhook) -> None:
    await webhook.start()

    status, _ = await webhook.post(update_body(1, "/start"), content_type="text/plain")

    assert status == 415
    assert webhook.fed == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"update_id": 1, "message": ',  # cut short
        b"\xff\xfe not UTF-8",
        b"[" * 100_000,  # nested deeper than any parser should follow
        b"[]",
        b'{"update_id": "one"}',
        b'{"message": {"text": "Ada Lovelace"}}',
    ],
    ids=["truncated", "not-utf-8", "deep", "array", "bad-id", "no-id"],
)
async def test_a_malformed_update_is_400_with_one_warning_line_and_no_traceback(
    webhook: Webhook, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    await webhook.start()
    caplog.clear()

    status, _ = await webhook.post(body)

    assert status == 400
    assert webhook.fed == []
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith("webhook request rejected: the body is not")
    assert warning.exc_info is None
    assert "Traceback" not in caplog.text
    assert "Lovelace" not in caplog.text  # nothing of the body


async def test_a_body_over_the_limit_is_413(webhook: Webhook) -> None:
    await webhook.start()
    padding = b" " * MAX_BODY_BYTES

    status, _ = await webhook.post(update_body(1, "/start")[:-1] + padding + b"}")

    assert status == 413
    assert webhook.fed == []


async def test_an_update_the_dispatcher_fails_on_is_500_for_telegram_to_deliver_again(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails(bot: Bot, update: Update, **kwargs: Any) -> Any:
        raise RuntimeError("the dispatcher broke")

    monkeypatch.setattr(webhook.container.dispatcher(), "feed_update", fails)
    await webhook.start()

    assert await webhook.post(update_body(1, "/start")) == (500, b"")
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage() == "update 1 failed; answered 500 for Telegram to deliver it again"
    assert error.exc_info is not None


class BrokenShowProfile:
    """A bug in a use case: the same input fails the same way every time."""

    async def execute(self, request: object) -> None:
        raise RuntimeError("a bug")


async def test_a_handler_bug_is_apologised_for_and_answered_200_not_delivered_again(
    webhook: Webhook,
) -> None:
    await webhook.start()

    with webhook.container.show_profile.override(providers.Object(BrokenShowProfile())):
        assert await webhook.post(update_body(1, "/me")) == (200, b"")

    assert webhook.api.texts() == [texts.unexpected_error()]


async def test_health_and_metrics_are_served_on_the_webhook_port(webhook: Webhook) -> None:
    await webhook.start()
    assert await webhook.post(update_body(1, "/help")) == (200, b"")

    assert await webhook.get("/health/live") == (200, "live\n")
    assert await webhook.get("/health/ready") == (200, "ready\n")
    status, metrics = await webhook.get("/metrics")
    assert status == 200
    assert 'profilebot_updates_total{outcome="ok",type="message"} 1.0' in metrics


async def test_sigterm_finishes_the_request_in_progress_and_refuses_new_work(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    await webhook.start()
    assert webhook.task is not None
    async with aiohttp.ClientSession() as open_connection:
        assert await webhook.post(update_body(1, "/help"), http=open_connection) == (200, b"")
        webhook.api.hold(SendMessage)
        in_progress = asyncio.create_task(webhook.post(update_body(2, "/start")))
        await eventually(lambda: bool(webhook.api.waiting))

        signal.raise_signal(signal.SIGTERM)
        await eventually(lambda: "webhook stopped listening" in caplog.text)

        assert not await accepts_connections(webhook.port)  # no new connections
        on_open_connection = await webhook.post(update_body(3, "/me"), http=open_connection)
        assert on_open_connection == (503, b"")  # Telegram delivers it again, elsewhere
        assert not in_progress.done()

        webhook.api.release(SendMessage)
        assert await in_progress == (200, b"")
        await asyncio.wait_for(webhook.task, 10)

    assert [u.update_id for u in webhook.fed] == [1, 2]
    assert webhook.api.texts()[-1] == texts.ask_name()
    assert webhook.api.listening_at_close is False  # server gone before the session closed
    assert "waiting for 1 request(s) in progress" in caplog.text


async def test_a_signal_during_start_up_raises_interrupted(webhook: Webhook) -> None:
    webhook.api.hold(SetMyCommands)
    task = asyncio.create_task(run_webhook(webhook.container))
    await eventually(lambda: bool(webhook.api.waiting))

    signal.raise_signal(signal.SIGINT)

    with pytest.raises(Interrupted) as interrupted:
        await task
    assert interrupted.value.signum == signal.SIGINT
    assert not await accepts_connections(webhook.port)
    assert webhook.api.listening_at_close is False


async def test_a_port_in_use_is_one_startup_error(webhook: Webhook) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", webhook.port))
        taken.listen()

        with pytest.raises(StartupError) as error:
            await run_webhook(webhook.container)

    assert str(error.value).startswith(f"cannot serve the webhook on 127.0.0.1:{webhook.port} (")
    assert "\n" not in str(error.value)


async def test_the_registered_update_types_are_those_the_real_dispatcher_uses(
    webhook: Webhook,
) -> None:
    expected = webhook.container.dispatcher().resolve_used_update_types()

    assert used_update_types() == expected


@pytest.fixture
def registration(settings: Settings) -> Iterator[tuple[Container, list[TelegramMethod[Any]]]]:
    """A container that was never started: registering needs no storage."""
    requests: list[TelegramMethod[Any]] = []
    container = Container(settings=settings)
    container.bot_token.override(providers.Object(BOT_TOKEN))
    container.bot_session.override(providers.Object(LocalBotSession(requests.append)))
    yield container, requests
    container.unwire()


@pytest.mark.parametrize(("asked", "sent"), [(None, 40), (7, 7)])
async def test_set_webhook_registers_the_url_with_the_secret_and_the_used_updates(
    registration: tuple[Container, list[TelegramMethod[Any]]], asked: int | None, sent: int
) -> None:
    container, requests = registration
    url = "https://bot.example.org/telegram/webhook"

    confirmation = await set_webhook(container, url, asked, drop_pending=True)

    [call] = requests
    assert isinstance(call, SetWebhook)
    assert (call.url, call.secret_token, call.allowed_updates) == (
        url,
        SECRET,
        ["callback_query", "message"],
    )
    assert (call.max_connections, call.drop_pending_updates) == (sent, True)
    assert confirmation == (
        f"webhook set: {url} (up to {sent} connections; updates: callback_query, message;"
        " pending updates dropped)"
    )
    mongo_uri = cast(providers.Resource[str], container.storage.uri)
    assert not mongo_uri.initialized  # no MongoDB reached, no embedded server started


async def test_delete_webhook_keeps_pending_updates_unless_asked(
    registration: tuple[Container, list[TelegramMethod[Any]]],
) -> None:
    container, requests = registration

    assert await delete_webhook(container, drop_pending=False) == (
        "webhook deleted (pending updates kept)"
    )
    [call] = requests
    assert isinstance(call, DeleteWebhook)
    assert call.drop_pending_updates is False


class RefusingBotApi(LocalBotSession):
    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        raise TelegramBadRequest(method, "Bad Request: bad webhook: port 8080 not allowed")


async def test_a_webhook_telegram_refuses_is_one_startup_error_with_its_reason(
    registration: tuple[Container, list[TelegramMethod[Any]]],
) -> None:
    container, _ = registration
    container.bot_session.override(providers.Object(RefusingBotApi(lambda method: None)))

    with pytest.raises(StartupError) as error:
        await set_webhook(container, "https://example.org:8080/hook", None, drop_pending=False)

    assert str(error.value) == (
        "Telegram refused the webhook: Bad Request: bad webhook: port 8080 not allowed"
    )


WEBHOOK_SETTINGS = ("BOT_TOKEN", "WEBHOOK_SECRET", "TELEGRAM_API_URL", "MONGO_URI", "LOG_LEVEL")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No developer's variables or .env file; a token and a secret set."""
    for name in WEBHOOK_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    return monkeypatch


@pytest.mark.parametrize("command", [["webhook"], ["set-webhook", "https://example.org/hook"]])
def test_the_webhook_and_its_registration_need_the_secret(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    environment.delenv("WEBHOOK_SECRET")

    assert main(command) == 2

    assert capsys.readouterr().err.splitlines() == [f"profilebot: {NO_WEBHOOK_SECRET}"]


@pytest.mark.parametrize(
    "command", [["webhook"], ["set-webhook", "https://example.org/hook"], ["delete-webhook"]]
)
def test_the_webhook_commands_need_a_token(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    environment.delenv("BOT_TOKEN")

    assert main(command) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"profilebot: configuration error: BOT_TOKEN is not set; {command[0]} needs a bot token"
    ]


@pytest.mark.parametrize(
    "url", ["http://example.org/hook", "example.org/hook", "https:///hook", "https://[::1/x"]
)
def test_telegram_delivers_only_to_https(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    assert main(["set-webhook", url]) == 2

    assert capsys.readouterr().err.splitlines() == [
        "profilebot: configuration error: the webhook URL must be a https:// URL with a host"
        " name (Telegram delivers over HTTPS only)"
    ]


def test_a_self_hosted_bot_api_may_deliver_over_http(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("TELEGRAM_API_URL", "http://127.0.0.1:1")

    assert main(["set-webhook", "ftp://example.org/hook"]) == 2

    assert capsys.readouterr().err.splitlines() == [
        "profilebot: configuration error: the webhook URL must be a https:// or http:// URL"
        " with a host name"
    ]


@pytest.mark.parametrize("connections", ["0", "101", "many"])
def test_max_connections_is_what_telegram_allows(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], connections: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["set-webhook", "https://example.org/hook", "--max-connections", connections])

    assert exit_.value.code == 2
    assert "argument --max-connections" in capsys.readouterr().err
