"""`profilebot webhook`, `set-webhook` and `delete-webhook` as processes: updates POSTed the
way Telegram posts them, replies recorded by the fake Bot API."""

import concurrent.futures
import json
import signal
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

from bench.webhook_delivery import text_update
from infrastructure.embedded_mongo import free_loopback_port
from presentation.entrypoints.cli import NO_WEBHOOK_SECRET
from presentation.entrypoints.webhook.serve import SECRET_HEADER
from presentation.telegram import texts
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env, run

pytestmark = pytest.mark.e2e

SECRET = "e2e-WEBHOOK-secret_42"
PATH = "/telegram/webhook"
ADA, BOB = 1001, 1002
UNREACHABLE_MONGO = "mongodb://127.0.0.1:1/"
"""For the one-shot commands: they must not need MongoDB, so they must not notice this."""


@pytest.fixture
def port() -> int:
    return free_loopback_port()


@pytest.fixture
def webhook(tmp_path: Path, env: dict[str, str], port: int) -> Iterator[BotProcess]:
    """`profilebot webhook` on the test MongoDB, serving once it logged where it listens."""
    settings = {"WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(port)}
    process = BotProcess(tmp_path, env | settings, command="webhook")
    try:
        process.wait_for_output(f"webhook listening on http://127.0.0.1:{port}{PATH}")
        yield process
    finally:
        if process.process.poll() is None:
            process.kill()


def post(
    port: int,
    body: bytes,
    secret: str | None = SECRET,
    connection: HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """POST to the webhook as Telegram does; on `connection` if given (kept open)."""
    http = connection or HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    try:
        http.request("POST", PATH, body=body, headers=headers)
        response = http.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            http.close()


def update(update_id: int, user_id: int, text: str) -> bytes:
    return json.dumps(text_update(update_id, user_id, text)).encode()


@pytest.mark.mongo
def test_an_update_with_the_secret_is_answered_through_the_bot_api(
    webhook: BotProcess, bot_api: FakeBotApi, port: int
) -> None:
    assert post(port, update(1, ADA, "/start")) == (200, b"")
    assert bot_api.replies_to(ADA) == [texts.ask_name()]  # sent before Telegram got its 200
    assert post(port, update(2, ADA, "Ada")) == (200, b"")
    assert bot_api.replies_to(ADA)[-1] == texts.registered("Ada")
    health = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        health.request("GET", "/health/ready")
        assert health.getresponse().status == 200
    finally:
        health.close()

    assert webhook.terminate() == 0
    assert bot_api.calls_of("setMyCommands")
    assert not bot_api.calls_of("setWebhook")  # a replica never changes the webhook
    assert not bot_api.calls_of("deleteWebhook")
    output = webhook.output()
    assert SECRET not in output
    assert BOT_TOKEN not in output
    assert "Traceback" not in output


@pytest.mark.mongo
def test_a_wrong_secret_is_401_and_nobody_answers(
    webhook: BotProcess, bot_api: FakeBotApi, port: int
) -> None:
    assert post(port, update(1, ADA, "/start"), secret="not-the-secret")[0] == 401
    assert post(port, update(2, ADA, "/start"), secret=None)[0] == 401
    assert post(port, update(3, BOB, "/help")) == (200, b"")  # after those two

    assert bot_api.replies_to(BOB) == [texts.help_text()]
    assert bot_api.replies_to(ADA) == []
    assert webhook.terminate() == 0


@pytest.mark.mongo
def test_a_malformed_body_is_400_without_a_traceback(
    webhook: BotProcess, bot_api: FakeBotApi, port: int
) -> None:
    assert post(port, b'{"update_id": 1, "message": {"text": "Ada Lo')[0] == 400
    assert post(port, b'{"update_id": "one"}')[0] == 400
    assert post(port, update(2, ADA, "/help")) == (200, b"")  # and it still serves

    assert webhook.terminate() == 0
    output = webhook.output()
    assert output.count("webhook request rejected: the body is not") == 2
    assert "Ada Lo" not in output
    assert "Traceback" not in output


@pytest.mark.mongo
def test_sigterm_finishes_the_request_in_progress_and_refuses_new_ones(
    webhook: BotProcess, bot_api: FakeBotApi, port: int
) -> None:
    kept_open = HTTPConnection("127.0.0.1", port, timeout=60)
    assert post(port, update(1, BOB, "/help"), connection=kept_open) == (200, b"")
    bot_api.hold("sendMessage")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_progress = pool.submit(post, port, update(2, ADA, "/start"))
        bot_api.wait_until(lambda: len(bot_api.calls_of("sendMessage")) == 2)

        webhook.process.send_signal(signal.SIGTERM)
        webhook.wait_for_output("webhook stopped listening; waiting for 1 request(s)")

        with pytest.raises(ConnectionRefusedError):
            HTTPConnection("127.0.0.1", port, timeout=10).connect()
        assert post(port, update(3, BOB, "/me"), connection=kept_open) == (503, b"")
        assert not in_progress.done()

        bot_api.release("sendMessage")
        assert in_progress.result(60) == (200, b"")

    kept_open.close()
    assert webhook.process.wait(30) == 0
    assert bot_api.replies_to(ADA) == [texts.ask_name()]
    output = webhook.output()
    assert "update=2 type=message user=1001" in output
    assert "update=3" not in output  # refused, for Telegram to deliver again
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "url", ["https://bot.example.org/telegram/webhook", "http://127.0.0.1:8443/hook"]
)
def test_set_webhook_registers_the_secret_and_the_used_updates(
    tmp_path: Path, bot_api: FakeBotApi, url: str
) -> None:
    # The fake Bot API is not Telegram's, so a plain http:// URL is accepted too.
    env = clean_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        WEBHOOK_SECRET=SECRET,
        MONGO_URI=UNREACHABLE_MONGO,
    )

    result = run(["set-webhook", url, "--max-connections", "7"], tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"webhook set: {url} (up to 7 connections; updates: callback_query, message;"
        " pending updates kept)"
    ]
    [call] = bot_api.calls_of("setWebhook")
    assert call.params["url"] == url
    assert call.params["secret_token"] == SECRET
    assert json.loads(call.params["allowed_updates"]) == ["callback_query", "message"]
    assert call.params["max_connections"] == "7"
    assert SECRET not in result.stdout + result.stderr


def test_delete_webhook_can_drop_the_pending_updates(tmp_path: Path, bot_api: FakeBotApi) -> None:
    env = clean_env(BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=bot_api.url, MONGO_URI=UNREACHABLE_MONGO)

    result = run(["delete-webhook", "--drop-pending-updates"], tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["webhook deleted (pending updates dropped)"]
    [call] = bot_api.calls_of("deleteWebhook")
    assert call.params["drop_pending_updates"] == "true"


def test_the_webhook_without_its_secret_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    env = clean_env(BOT_TOKEN=BOT_TOKEN, MONGO_URI=UNREACHABLE_MONGO)

    result = run(["webhook"], tmp_path, env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"profilebot: {NO_WEBHOOK_SECRET}"]
    assert result.stdout == ""
