"""/mydata through `profilebot polling` as a process: the fake Bot API receives the file as
Telegram would (`sendDocument`, multipart/form-data), holding the asker's data and nobody
else's, in one process's mode and under conversation leases."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from presentation.telegram import texts
from tests.e2e.fake_bot_api import BOT_ID, FakeBotApi
from tests.e2e.profilebot_process import BotProcess

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA, BOB = 1001, 1002


@pytest.fixture(params=["local", "mongo"], ids=lambda isolation: f"EVENT_ISOLATION={isolation}")
def bot(
    request: pytest.FixtureRequest, tmp_path: Path, env: dict[str, str]
) -> Iterator[BotProcess]:
    process = BotProcess(tmp_path, env | {"EVENT_ISOLATION": str(request.param)})
    yield process
    if process.process.poll() is None:
        process.kill()


def test_mydata_sends_the_asker_one_json_file_of_their_own_data(
    bot: BotProcess, bot_api: FakeBotApi
) -> None:
    for user_id, name in [(ADA, "Ada"), (BOB, "Bob")]:
        bot_api.send_text(user_id, "/start")
        bot_api.wait_for_reply(user_id, texts.ask_name())
        bot_api.send_text(user_id, name)
        bot_api.wait_for_reply(user_id, texts.registered(name))

    bot_api.send_text(ADA, "/mydata")
    sent = bot_api.wait_for_document(ADA)

    [call] = bot_api.calls_of("sendDocument")
    assert call.params["document"].startswith("attach://")  # the file is a part of its own
    assert sent.caption == texts.personal_data_sent()
    assert re.fullmatch(r"profilebot-\d{4}-\d{2}-\d{2}\.json", sent.file_name)
    exported = json.loads(sent.content)
    assert exported["user_id"] == ADA
    [profile] = [r["document"] for r in exported["records"] if r["kept_in"] == "users"]
    assert (profile["telegram_id"], profile["name"]) == (ADA, "Ada")
    conversations = [r["document"]["_id"] for r in exported["records"] if r["kept_in"] != "users"]
    assert conversations == [f"fsm:{BOT_ID}:{ADA}:{ADA}:default"]
    assert b"Bob" not in sent.content
    assert bot_api.documents_to(BOB) == []
    assert bot.terminate() == 0
