import pytest

from presentation.telegram import states, texts
from presentation.telegram.states import Forgetting
from tests.conversations.conftest import BotUnderTest


async def _registered(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")


async def test_forget_asks_first_and_yes_deletes_profile_and_conversation(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)

    assert await bot.send("/forget") == [texts.confirm_forget()]
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state
    assert await bot.send(" YES ") == [texts.forgotten()]

    assert bot.stored_users() == []
    assert bot.records.conversations() == 0
    assert await bot.send("/me") == [texts.not_registered()]


@pytest.mark.parametrize("answer", ["no", "yes please", "Ada"])
async def test_anything_but_yes_keeps_the_profile(bot: BotUnderTest, answer: str) -> None:
    await _registered(bot)
    await bot.send("/forget")

    assert await bot.send(answer) == [texts.kept()]

    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


async def test_cancel_and_other_commands_keep_the_profile(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")

    [profile] = await bot.send("/me")
    assert profile.endswith(states.with_reminder("", Forgetting.waiting_for_confirmation.state))
    assert await bot.send("/cancel") == [texts.kept()]
    assert await bot.send("yes") != [texts.forgotten()]
    assert len(bot.stored_users()) == 1


async def test_forget_without_a_profile_has_nothing_to_delete(bot: BotUnderTest) -> None:
    assert await bot.send("/forget") == [texts.nothing_to_forget()]
    assert await bot.state_of() is None


async def test_forget_deletes_only_the_sender(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/start", user_id=8)
    await bot.send("Bob", user_id=8)

    await bot.send("/forget")
    await bot.send("yes")

    assert [u["name"] for u in bot.stored_users()] == ["Bob"]
