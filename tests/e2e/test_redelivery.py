"""kill -9 in the middle of a handler: Telegram delivers the unconfirmed update again after
the restart, and the user gets their answer, with its effect once."""

from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from presentation.telegram import texts
from tests.conftest import FailPoints
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001


def test_kill_9_while_registering_then_restart_answers_the_name_and_stores_it_once(
    *,
    tmp_path: Path,
    env: dict[str, str],
    bot: BotProcess,
    bot_api: FakeBotApi,
    fail_points: FailPoints,
    mongo_client: MongoClient[dict[str, Any]],
    db_name: str,
) -> None:
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    fail_points.fail(["insert"], times=1, blockConnection=True, blockTimeMS=5000)
    bot_api.send_text_and_wait_until_taken(ADA, "Ada")
    wait_until(lambda: _inserting(mongo_client), 60, "the bot's insert to reach the server")

    bot.kill()
    fail_points.off()
    restarted = BotProcess(tmp_path, env, name="restarted")
    try:
        bot_api.wait_for_reply(ADA, texts.registered("Ada"), timeout=120)
    finally:
        assert restarted.terminate() == 0, restarted.output()

    assert bot_api.replies_to(ADA).count(texts.registered("Ada")) == 1
    assert mongo_client[db_name]["users"].count_documents({"telegram_id": ADA}) == 1


def _inserting(client: MongoClient[dict[str, Any]]) -> bool:
    """Whether the bot's last command on one of its connections is an insert: the one the
    fail point holds (the server notes a command before holding it)."""
    connections = client.admin.command("currentOp")["inprog"]
    return any(
        c.get("op") == "insert"
        and c.get("clientMetadata", {}).get("application", {}).get("name") == "profilebot"
        for c in connections
    )
