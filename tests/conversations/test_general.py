import logging

import pytest

from presentation.telegram import states, texts
from presentation.telegram.commands import bot_commands
from presentation.telegram.states import Registration, Renaming
from tests.conversations.conftest import BotUnderTest


async def test_help_lists_every_command(bot: BotUnderTest) -> None:
    [reply] = await bot.send("/help")

    for command in [*(f"/{c.command}" for c in bot_commands()), "/profile", "/update_name"]:
        assert command in reply


async def test_help_while_waiting_for_a_name_keeps_the_question_open(bot: BotUnderTest) -> None:
    await bot.send("/start")

    assert await bot.send("/help") == [texts.help_text()]

    assert await bot.state_of() == Registration.waiting_for_name.state
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_cancel_leaves_registration(bot: BotUnderTest) -> None:
    await bot.send("/start")

    assert await bot.send("/cancel") == [states.cancelled(Registration.waiting_for_name.state)]
    assert await bot.state_of() is None
    assert bot.stored_users() == []


async def test_cancel_leaves_renaming_with_the_name_unchanged(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")

    assert await bot.send("/cancel") == [states.cancelled(Renaming.waiting_for_new_name.state)]
    assert await bot.state_of() is None
    assert await bot.send("Grace") == [texts.unknown_input("Grace")]
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]


async def test_cancel_with_nothing_in_progress_says_so(bot: BotUnderTest) -> None:
    assert await bot.send("/cancel") == [texts.nothing_to_cancel()]


async def test_an_unknown_command_is_named(bot: BotUnderTest) -> None:
    [reply] = await bot.send("/frobnicate now")

    assert reply == texts.unknown_input("/frobnicate")
    assert "the command /frobnicate." in reply


async def test_chatter_outside_a_conversation_points_at_help(bot: BotUnderTest) -> None:
    assert await bot.send("hello?") == [texts.unknown_input("hello?")]


async def test_group_chats_are_ignored(bot: BotUnderTest) -> None:
    assert await bot.send_in_group("/start") == []
    assert await bot.state_of() is None


async def test_an_unknown_command_of_telegrams_maximum_length_gets_a_short_answer(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    command = "/" + "a" * 4095  # the longest message Telegram delivers

    [reply] = await bot.send(command)

    assert reply == texts.unknown_input(command)
    assert len(reply) <= 4096
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
