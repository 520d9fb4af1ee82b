"""`profilebot polling` as a process under faults: a flaky Bot API, a thousand users at once,
kill -9 mid-burst, SIGTERM while the database is slow, and secrets kept out of all output."""

import signal
from pathlib import Path

import pytest
from pymongo import MongoClient

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.mongo_client import Document
from presentation.telegram import texts
from tests.conftest import FailPoints
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001


def test_replies_survive_429_5xx_and_dropped_connections_and_polling_recovers(
    bot: BotProcess, bot_api: FakeBotApi
) -> None:
    bot_api.wait_for_call("setMyCommands")
    bot_api.fail_next("sendMessage", "429", "500", "drop")

    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())

    assert [c.fault for c in bot_api.calls_of("sendMessage")] == ["429", "500", "drop", None]
    bot_api.fail_next("getUpdates", "500", "drop", "429")
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"))

    assert bot_api.replies_to(ADA) == [texts.ask_name(), texts.registered("Ada")]  # once each
    assert bot.terminate() == 0


def test_a_thousand_users_register_at_once(
    bot: BotProcess, bot_api: FakeBotApi, mongo_client: MongoClient[Document], db_name: str
) -> None:
    users = range(10_001, 11_001)
    for user in users:
        bot_api.send_text(user, "/start")
    bot_api.wait_until(lambda: all(bot_api.replies_to(u) for u in users), timeout=240)
    for user in users:
        bot_api.send_text(user, f"User {user}")
    bot_api.wait_until(lambda: all(len(bot_api.replies_to(u)) == 2 for u in users), timeout=240)

    stored = list(mongo_client[db_name]["users"].find({}, {"_id": False}))
    assert sorted(d["telegram_id"] for d in stored) == list(users)
    assert all(d["name"] == f"User {d['telegram_id']}" for d in stored)
    for user in users:
        assert bot_api.replies_to(user) == [texts.ask_name(), texts.registered(f"User {user}")]
    assert bot.terminate() == 0


def test_kill_9_mid_burst_loses_no_confirmed_user_and_the_rest_carry_on(
    tmp_path: Path,
    env: dict[str, str],
    bot_api: FakeBotApi,
    mongo_client: MongoClient[Document],
    db_name: str,
) -> None:
    users = range(20_001, 20_061)
    first = BotProcess(tmp_path, env, name="first")
    try:
        for user in users:
            bot_api.send_text(user, "/start")
        bot_api.wait_until(lambda: all(bot_api.replies_to(u) for u in users), timeout=120)
        for user in users:
            bot_api.send_text(user, f"User {user}")
        bot_api.wait_until(
            lambda: sum(len(bot_api.replies_to(u)) == 2 for u in users) >= 10, timeout=120
        )
    finally:
        first.kill()
    confirmed = [u for u in users if len(bot_api.replies_to(u)) == 2]
    collection = mongo_client[db_name]["users"]
    assert all(collection.count_documents({"telegram_id": u}) == 1 for u in confirmed)

    second = BotProcess(tmp_path, env, name="second")
    try:
        for user in users:
            if user not in confirmed:
                bot_api.send_text(user, f"User {user}")  # as a user would, having no answer
        bot_api.wait_until(lambda: all(len(bot_api.replies_to(u)) >= 2 for u in users), 120)
        assert second.terminate() == 0
    finally:
        if second.process.poll() is None:
            second.kill()

    stored = {d["telegram_id"]: d["name"] for d in collection.find()}
    assert stored == {u: f"User {u}" for u in users}


def test_sigterm_waits_for_a_handler_stuck_on_a_slow_database_then_closes_once(
    tmp_path: Path, env: dict[str, str], bot_api: FakeBotApi, fail_points: FailPoints
) -> None:
    # The insert is held 2 s; the step's budget is long enough for it on a loaded machine
    # (at the default 3 s, the step's other calls and a slow server would leave it less).
    bot = BotProcess(tmp_path, env | {"MONGO_OPERATION_TIMEOUT_MS": "6000"})
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    fail_points.fail(["insert"], times=1, blockConnection=True, blockTimeMS=2000)
    bot_api.send_text_and_wait_until_taken(ADA, "Ada")

    try:
        assert bot.terminate(signal.SIGTERM) == 0
    finally:
        if bot.process.poll() is None:
            bot.kill()

    assert bot_api.replies_to(ADA) == [texts.ask_name(), texts.registered("Ada")]
    output = bot.output()
    assert "waiting for 1 update(s) in progress" in output
    assert output.count("MongoDB client closed") == 1
    assert output.index("outcome=ok") < output.index("MongoDB client closed")


def test_no_secret_reaches_any_output(
    tmp_path: Path, bot_api: FakeBotApi, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    password = "Pa55-w0rd-SECRET"
    debug = {"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": bot_api.url, "LOG_LEVEL": "DEBUG"}
    outputs = []
    for uri in (
        f"mongodb://admin:{password}@127.0.0.1:1/?serverSelectionTimeoutMS=500",  # unreachable
        f"mongodb://admin:{password}@127.0.0.1:1/?tls=maybe",  # unusable
    ):
        failed = run(["polling"], tmp_path, clean_env(**debug, MONGO_URI=uri))
        assert failed.returncode == 2
        outputs.append(failed.stdout + failed.stderr)

    working = BotProcess(tmp_path, clean_env(**debug, MONGO_URI=mongo_server.uri, MONGO_DB=db_name))
    try:
        bot_api.fail_next("sendMessage", "500", "500", "500", "500")  # a reply that fails
        bot_api.send_text(ADA, "/start")
        bot_api.send_text(ADA, "/not-a-name")  # an invalid name: a handled error
        bot_api.wait_for_reply(ADA, "commands start")
        assert working.terminate() == 0
    finally:
        if working.process.poll() is None:
            working.kill()
    outputs.append(working.output())

    for output in outputs:
        assert output.strip()
        assert BOT_TOKEN not in output
        assert BOT_TOKEN.split(":")[1] not in output
        assert password not in output
