import pytest

from presentation.telegram import states, texts
from presentation.telegram.states import Registration
from tests.conversations.conftest import ADA, BotUnderTest


async def test_start_asks_for_a_name_and_waits_for_it(bot: BotUnderTest) -> None:
    assert await bot.send("/start") == [texts.ask_name()]
    assert await bot.state_of() == Registration.waiting_for_name.state


async def test_the_name_is_saved_confirmed_and_the_conversation_ends(bot: BotUnderTest) -> None:
    await bot.send("/start")

    assert await bot.send("  Ada Lovelace ") == [texts.registered("Ada Lovelace")]
    assert await bot.state_of() is None
    [user] = bot.stored_users()
    assert (user["telegram_id"], user["name"]) == (ADA, "Ada Lovelace")
    assert user["created_at"] == user["updated_at"]


async def test_start_when_registered_greets_by_name_and_changes_nothing(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")

    assert await bot.send("/start") == [texts.already_registered("Ada")]
    assert await bot.state_of() is None
    assert len(bot.stored_users()) == 1


@pytest.mark.parametrize(
    ("name", "problem_text"),
    [
        ("x" * 65, "at most 64 characters"),
        ("Ada\nLovelace", "one line"),
        ("Ada\x07", "control characters"),
        ("\u200b\u200b", "visible character"),
        ("/notacommand", "can't start with “/”"),
    ],
)
async def test_an_invalid_name_says_what_is_wrong_and_keeps_waiting(
    bot: BotUnderTest, name: str, problem_text: str
) -> None:
    await bot.send("/start")

    [reply] = await bot.send(name)

    assert problem_text in reply
    assert await bot.state_of() == Registration.waiting_for_name.state
    assert bot.stored_users() == []
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_a_photo_instead_of_a_name_asks_for_text_and_keeps_waiting(bot: BotUnderTest) -> None:
    await bot.send("/start")

    assert await bot.send_photo() == [texts.need_text_name()]
    assert await bot.state_of() == Registration.waiting_for_name.state


@pytest.mark.parametrize("name", ['{"$gt": ""}', "$where", "a.b", "Robert'); DROP TABLE--"])
async def test_names_that_look_like_queries_are_stored_literally(
    bot: BotUnderTest, name: str
) -> None:
    await bot.send("/start")

    assert await bot.send(name) == [texts.registered(name)]
    assert [u["name"] for u in bot.stored_users()] == [name]


async def test_a_command_while_waiting_for_a_name_is_that_command(bot: BotUnderTest) -> None:
    await bot.send("/start")

    [reply] = await bot.send("/me")

    assert reply == states.with_reminder(
        texts.not_registered(), Registration.waiting_for_name.state
    )
    assert bot.stored_users() == []
    assert await bot.state_of() == Registration.waiting_for_name.state
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_users_register_independently(bot: BotUnderTest) -> None:
    await bot.send("/start", user_id=1)
    await bot.send("/start", user_id=2)

    assert await bot.send("Grace", user_id=2) == [texts.registered("Grace")]
    assert await bot.send("Ada", user_id=1) == [texts.registered("Ada")]
    assert sorted(u["name"] for u in bot.stored_users()) == ["Ada", "Grace"]


async def test_registered_meanwhile_elsewhere_reports_the_stored_name(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("/start", user_id=ADA)  # still unregistered: asks again, same state
    bot.records.put_user(ADA, "Ada")

    assert await bot.send("Grace") == [texts.already_registered("Ada")]
    assert await bot.state_of() is None
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
