"""`profilebot polling` as a process, against the fake Bot API and a real MongoDB server."""

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from infrastructure.embedded_mongo import free_loopback_port
from presentation.telegram import texts
from presentation.telegram.commands import menus
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env, is_gone, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_registers_publishes_commands_and_stops_cleanly_on_a_signal(
    bot: BotProcess,
    bot_api: FakeBotApi,
    mongo_client: MongoClient[dict[str, Any]],
    db_name: str,
    stop_signal: signal.Signals,
) -> None:
    bot_api.wait_until(lambda: len(bot_api.calls_of("setMyCommands")) == len(menus()))
    by_language = {
        call.params.get("language_code"): json.loads(call.params["commands"])
        for call in bot_api.calls_of("setMyCommands")
    }
    assert {
        language: [(c["command"], c["description"]) for c in commands]
        for language, commands in by_language.items()
    } == {
        language: [(c.command, c.description) for c in commands]
        for language, commands in menus().items()
    }

    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"))

    assert bot.terminate(stop_signal) == 0
    assert mongo_client[db_name]["users"].count_documents({"telegram_id": ADA, "name": "Ada"}) == 1
    output = bot.output()
    assert BOT_TOKEN not in output
    assert "Traceback" not in output


def test_sigterm_lets_an_update_in_progress_finish(bot: BotProcess, bot_api: FakeBotApi) -> None:
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    bot_api.reply_delay = 3.0
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"))  # asked; the answer is 3 s away

    started = time.monotonic()
    assert bot.terminate() == 0

    assert time.monotonic() - started > 2
    output = bot.output()
    assert "waiting for 1 update(s) in progress" in output
    assert "update=2 type=message user=1001 handler=name_received outcome=ok" in output
    assert output.count("MongoDB client closed") == 1


def test_a_conversation_survives_kill_9_of_the_bot(
    tmp_path: Path, env: dict[str, str], bot: BotProcess, bot_api: FakeBotApi
) -> None:
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    bot.kill()

    restarted = BotProcess(tmp_path, env, name="restarted")
    try:
        bot_api.send_text(ADA, "Ada")
        bot_api.wait_for_reply(ADA, texts.registered("Ada"))
    finally:
        assert restarted.terminate() == 0


def test_killing_the_bot_also_stops_its_embedded_database(
    tmp_path: Path, bot_api: FakeBotApi
) -> None:
    env = clean_env(BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=bot_api.url)  # no MONGO_URI
    first = BotProcess(tmp_path, env, name="first")
    try:
        server = first.embedded_server()
        bot_api.send_text(ADA, "/start")
        bot_api.wait_for_reply(ADA, texts.ask_name())
    finally:
        first.kill()

    # The kernel stops the server with the bot (it may take a loaded machine a while).
    wait_until(lambda: is_gone(server), 120, "the killed bot's embedded server to stop")
    second = BotProcess(tmp_path, env, name="second")  # the same data folder, kept
    try:
        bot_api.send_text(ADA, "Ada")
        bot_api.wait_for_reply(ADA, texts.registered("Ada"))
    finally:
        assert second.terminate() == 0, second.output()


def test_a_rejected_token_is_one_line_and_exit_code_2(tmp_path: Path, env: dict[str, str]) -> None:
    with FakeBotApi("4242:the-right-token") as other_api:
        process = BotProcess(tmp_path, env | {"TELEGRAM_API_URL": other_api.url})
        code = process.process.wait(60)

    assert code == 2
    lines = [line for line in process.output().splitlines() if line.startswith("profilebot:")]
    assert lines == ["profilebot: the Telegram Bot API rejected BOT_TOKEN (unauthorized)"]
    assert BOT_TOKEN not in process.output()


def test_an_unreachable_bot_api_is_one_line_and_exit_code_2(
    tmp_path: Path, env: dict[str, str]
) -> None:
    process = BotProcess(tmp_path, env | {"TELEGRAM_API_URL": "http://127.0.0.1:1"})
    code = process.process.wait(60)

    assert code == 2
    lines = [line for line in process.output().splitlines() if line.startswith("profilebot:")]
    assert lines == [
        "profilebot: the Telegram Bot API at http://127.0.0.1:1 failed: TelegramNetworkError"
    ]
    assert "Traceback" not in process.output()


def test_health_and_metrics_are_served_beside_polling_on_http_port(
    tmp_path: Path, env: dict[str, str], bot_api: FakeBotApi
) -> None:
    port = free_loopback_port()
    bot = BotProcess(tmp_path, env | {"HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port)})
    try:
        bot_api.send_text(ADA, "/start")
        bot_api.wait_for_reply(ADA, texts.ask_name())
        base = f"http://127.0.0.1:{port}"

        assert _get(f"{base}/health/live")[0] == 200
        assert _get(f"{base}/health/ready")[0] == 200
        # The update is counted when it ends: after its reply, its conversation is written.
        deadline = time.monotonic() + 30
        while not _updates(metrics := _get(f"{base}/metrics")[1]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        assert bot.terminate() == 0, bot.output()

    assert _updates(metrics) == {("message", "ok"): 1.0}
    assert 'profilebot_telegram_requests_total{method="SendMessage",status="ok"} 1.0' in metrics


def _updates(metrics: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["type"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "profilebot_updates"
        for s in family.samples
        if s.name == "profilebot_updates_total"
    }


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
