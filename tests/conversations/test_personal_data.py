"""/mydata and /privacy through the real dispatcher, on each storage: the file holds what is
kept about the user who asked, whole and explained, in their language, and nothing about
anyone else; /privacy tells the storage's own durations."""

import json
import re
from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.types import User
from pymongo.database import Database

from infrastructure.conversation.lease import FIELDS
from infrastructure.mongo_client import Document
from presentation.telegram import states, texts
from presentation.telegram.states import Renaming
from presentation.telegram.translation import speaking
from tests.conversations.conftest import ADA, BotUnderTest, refuse_replies

BOB = 8
RUSLAN = 21
RUSLAN_ON_TELEGRAM = User(id=RUSLAN, is_bot=False, first_name="Руслан", language_code="ru")


def _records(exported: dict[str, Any], kept_in: str) -> list[dict[str, Any]]:
    return [record for record in exported["records"] if record["kept_in"] == kept_in]


def _profile(exported: dict[str, Any]) -> dict[str, Any]:
    [record] = _records(exported, "users")
    document = record["document"]
    assert isinstance(document, dict)
    return document


async def test_mydata_sends_one_json_file_named_by_its_date_holding_the_profile(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")

    assert await bot.send("/mydata") == [texts.personal_data_sent()]

    [(name, _content)] = bot.documents()
    exported = bot.exported()
    assert re.fullmatch(r"profilebot-\d{4}-\d{2}-\d{2}\.json", name)
    assert name == f"profilebot-{exported['exported_at'][:10]}.json"
    assert exported["user_id"] == ADA
    profile = _profile(exported)
    assert (profile["telegram_id"], profile["name"]) == (ADA, "Ada")
    assert set(profile) >= {"created_at", "updated_at", "answered_by"}


async def test_every_field_in_the_file_is_explained(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")

    await bot.send("/mydata")

    for record in bot.exported()["records"]:
        names = set(record["document"]) | {f"data.{k}" for k in record["document"].get("data", {})}
        assert set(record["fields"]) == names
        assert texts.undescribed_field() not in record["fields"].values(), record["fields"]
        assert record["what"] == texts.kept_in(record["kept_in"], bot.container.retention())


async def test_an_open_question_is_in_the_file_and_stays_open(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")

    replies = await bot.send("/mydata")

    waiting = Renaming.waiting_for_new_name.state
    assert replies == [states.with_reminder(texts.personal_data_sent(), waiting)]
    [conversation] = _records(bot.exported(), "fsm_states")
    assert conversation["document"]["state"] == waiting
    assert await bot.send("Grace") == [texts.renamed("Grace")]


async def test_the_file_holds_nothing_about_another_user(bot: BotUnderTest) -> None:
    for user_id, name in [(ADA, "Ada"), (BOB, "Bob")]:
        await bot.send("/start", user_id=user_id)
        await bot.send(name, user_id=user_id)
        await bot.send("/rename", user_id=user_id)  # a conversation in every storage

    await bot.send("/mydata")
    await bot.send("/mydata", user_id=BOB)

    [(_, adas)], [(_, bobs)] = bot.documents(ADA), bot.documents(BOB)
    assert b"Bob" not in adas
    assert b"Ada" not in bobs
    for user_id in (ADA, BOB):
        exported = bot.exported(user_id)
        assert exported["user_id"] == user_id
        assert _profile(exported)["telegram_id"] == user_id
        conversations = [r["document"]["_id"] for r in _records(exported, "fsm_states")]
        assert conversations == [f"fsm:{bot.bot.id}:{user_id}:{user_id}:default"]


async def test_an_unregistered_users_file_holds_the_language_they_chose_and_no_profile(
    bot: BotUnderTest,
) -> None:
    await bot.send("/language")
    await bot.press("Русский")

    with speaking("ru"):
        assert await bot.send("/mydata") == [texts.personal_data_sent()]

    exported = bot.exported()
    assert _records(exported, "users") == []
    [conversation] = _records(exported, "fsm_states")
    assert conversation["document"]["data"]["language"] == "ru"


@pytest.mark.parametrize(
    "backend", ["memory", pytest.param("mongo", marks=pytest.mark.mongo)], indirect=True
)
async def test_a_stranger_is_told_nothing_is_kept_when_nothing_is(bot: BotUnderTest) -> None:
    assert await bot.send("/mydata") == [texts.nothing_kept()]

    exported = bot.exported()
    assert exported["records"] == []
    assert exported["about"].startswith("This bot keeps nothing about you (Telegram user 7)")


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["leased"], indirect=True)
async def test_under_leases_a_strangers_file_holds_only_the_conversations_bookkeeping(
    bot: BotUnderTest,
) -> None:
    """Taking the lease for /mydata writes the conversation's document (the lease, held
    by this very update): that is kept, so the file holds it, and nothing else."""
    await bot.send("/mydata")

    [record] = bot.exported()["records"]
    assert record["kept_in"] == "fsm_states"
    assert record["document"]["step"] == bot.fed[-1].update_id
    assert "lease_token" in record["document"]
    assert "state" not in record["document"]


async def test_after_forget_the_file_holds_only_the_record_of_the_deletion(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/forget")
    await bot.send("yes")

    await bot.send("/mydata")

    profile = _profile(bot.exported())
    assert "name" not in profile
    assert profile["telegram_id"] == ADA
    assert b"Ada" not in bot.documents()[-1][1]


async def test_a_russian_speakers_file_is_in_russian(bot: BotUnderTest) -> None:
    await bot.send("/start", user_id=RUSLAN, sender=RUSLAN_ON_TELEGRAM)
    await bot.send("Руслан", user_id=RUSLAN, sender=RUSLAN_ON_TELEGRAM)

    replies = await bot.send("/mydata", user_id=RUSLAN, sender=RUSLAN_ON_TELEGRAM)

    exported = bot.exported(RUSLAN)
    with speaking("ru"):
        assert replies == [texts.personal_data_sent()]
        [record] = _records(exported, "users")
        assert record["what"] == texts.kept_in("users", bot.container.retention())
        assert record["fields"]["name"] == texts.stored_fields()["users"]["name"]
    assert exported["about"].startswith("Всё, что")


async def test_privacy_says_what_is_kept_for_how_long_in_both_languages(
    bot: BotUnderTest,
) -> None:
    retention = bot.container.retention()

    assert await bot.send("/privacy") == [texts.privacy(retention)]
    with speaking("ru"):
        expected = texts.privacy(retention)
    assert await bot.send("/privacy", user_id=RUSLAN, sender=RUSLAN_ON_TELEGRAM) == [expected]
    assert "/mydata" in expected
    assert "/forget" in expected


NOT_ABOUT_A_USER = {"leases": "one document per bot: which process polls Telegram"}
"""Collections the bot writes that keep nothing about any user, and why."""
CAROL, DAVE = 9, 10
HELD = {FIELDS.token, FIELDS.until_ms, FIELDS.now_ms}
"""A conversation's fields while an update holds its lease (under leases), gone after."""


async def _everything_stored(bot: BotUnderTest, database: Database[Document]) -> None:
    """Users in each situation that stores a field: registered, renamed, a language chosen
    with a profile and without one, a question open with buttons, a step owed to an update
    whose reply failed, a profile deleted."""
    await bot.send("/language", user_id=BOB)
    await bot.press("Русский", user_id=BOB)
    for user_id, name in [(ADA, "Ada"), (CAROL, "Carol"), (DAVE, "Dave")]:
        await bot.send("/start", user_id=user_id)
        await bot.send(name, user_id=user_id)
    await bot.send("/rename")
    await bot.send("Grace")
    await bot.send("/language")
    await bot.press("Русский")
    await bot.send("/forget", user_id=DAVE)
    await bot.send("/forget")
    with speaking("ru"):
        await bot.press(texts.confirm_delete_button())
    await bot.send("/language", user_id=CAROL)
    await bot.press("Русский", user_id=CAROL)
    await bot.send("/rename", user_id=CAROL)
    refuse_replies(bot)  # from here on, `bot.sent` records nothing
    with pytest.raises(TelegramNetworkError):
        await bot.send("Caroline", user_id=CAROL)
    stored = database["fsm_states"].find_one({"_id": {"$regex": f":{CAROL}:default$"}})
    assert stored is not None
    assert "owed_step" in json.loads(stored["data"])


def _stored_fields(database: Database[Document], collection: str) -> set[str]:
    """Every field of every document in `collection`; a field of `data` as `data.<name>`."""
    fields = set()
    for document in database[collection].find():
        fields |= set(document)
        data = json.loads(document["data"]) if isinstance(document.get("data"), str) else {}
        fields |= {f"data.{name}" for name in data}
    return fields


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_every_collection_the_bot_writes_is_in_the_export_or_says_why_not(
    bot: BotUnderTest, database: Database[Document]
) -> None:
    await _everything_stored(bot, database)

    exported = bot.container.storage.personal_data().collections
    left_out = set(database.list_collection_names()) - set(exported) - set(NOT_ABOUT_A_USER)

    assert left_out == set()


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_every_field_stored_is_described_in_the_export(
    bot: BotUnderTest, database: Database[Document]
) -> None:
    await _everything_stored(bot, database)

    described = texts.stored_fields()
    undescribed = [
        f"{collection}.{field}"
        for collection in bot.container.storage.personal_data().collections
        for field in sorted(_stored_fields(database, collection))
        if field not in described.get(collection, {})
    ]

    assert undescribed == []
    seen = _stored_fields(database, "users") | _stored_fields(database, "fsm_states")
    assert {"forgotten_at", "language", "handled", "data.language", "data.owed_step"} <= seen
    assert "data.question" in seen


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_the_export_holds_each_of_the_users_documents_whole(
    bot: BotUnderTest, database: Database[Document]
) -> None:
    await _everything_stored(bot, database)

    for user_id in (ADA, BOB, CAROL, DAVE):
        await bot.send("/mydata", user_id=user_id)
        key = bot.container.storage.fsm_storage().document_id(bot.storage_key(user_id))
        stored = {
            "users": database["users"].find_one({"telegram_id": user_id}),
            "fsm_states": database["fsm_states"].find_one({"_id": key}),
        }
        exported = {r["kept_in"]: r["document"] for r in bot.exported(user_id)["records"]}
        assert set(exported) == {name for name, document in stored.items() if document}
        for name, document in exported.items():
            left_out = set(stored[name] or {}) - set(document)
            assert left_out == set(), (user_id, name)
            # Read while /mydata held the conversation's lease, which its release removed:
            assert set(document) - set(stored[name] or {}) <= HELD, (user_id, name)
