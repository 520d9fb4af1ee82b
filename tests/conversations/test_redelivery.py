"""An update delivered again — after a restart, or by another process — has its effect once,
and gets the answer it was owed if its first handling died before it was recorded."""

import pytest
from aiogram.types import Update

from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from presentation.telegram.states import Forgetting
from tests.conversations.conftest import (
    ADA,
    ONE_PROCESS_MONGO,
    BotUnderTest,
    ProcessDied,
    Restarted,
)

pytestmark = ONE_PROCESS_MONGO


async def test_an_update_handled_to_the_end_is_dropped_when_delivered_again_after_a_restart(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    await bot.send("/start")
    name = local_update(500, ADA, "Ada")
    assert await bot.feed(name) == [texts.registered("Ada")]

    assert await restarted(name) == []

    assert [u["name"] for u in bot.stored_users()] == ["Ada"]


async def test_an_update_that_died_before_it_was_recorded_gets_its_answer_again_and_one_effect(
    bot: BotUnderTest, restarted: Restarted, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send("/start")
    _dies_before_recording(bot, monkeypatch)
    name = local_update(501, ADA, "Ada")
    with pytest.raises(ProcessDied):
        await bot.feed(name)  # registered and answered, then died before the record

    assert await restarted(name) == [texts.registered("Ada")]

    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await restarted(local_update(502, ADA, "/me")) != [texts.not_registered()]


async def test_a_rename_redelivered_after_it_was_recorded_does_not_rename_twice(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")
    grace = local_update(600, ADA, "Grace")
    assert await bot.feed(grace) == [texts.renamed("Grace")]
    await bot.send("/rename")

    assert await restarted(grace) == []

    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await bot.send("Bob") == [texts.renamed("Bob")]  # the open rename was untouched


async def test_a_question_asked_and_recorded_is_not_asked_again_when_delivered_again(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    rename = local_update(700, ADA, "/rename")
    assert await bot.feed(rename) == [texts.ask_new_name("Ada")]

    assert await restarted(rename) == []


async def test_a_rename_that_died_before_it_was_recorded_is_answered_renamed_again(
    bot: BotUnderTest, restarted: Restarted, monkeypatch: pytest.MonkeyPatch
) -> None:
    grace = await _renamed_then_died(bot, monkeypatch, local_update(800, ADA, "Grace"))

    assert await restarted(grace) == [texts.renamed("Grace")]  # not "already your name"

    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await restarted(local_update(801, ADA, "Grace")) == [texts.unknown_input("Grace")]


async def test_a_press_recorded_and_delivered_again_is_neither_handled_nor_answered_again(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/forget")
    press = bot.press_update(texts.keep_button())
    assert await bot.feed(press) == [texts.kept()]
    await bot.send("/forget")

    await restarted(press)

    assert restarted.requests == []  # no reply, no second answer, no edit
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state


async def test_after_a_rename_whose_process_died_unwritten_the_next_message_is_no_new_name(
    bot: BotUnderTest, restarted: Restarted, monkeypatch: pytest.MonkeyPatch
) -> None:
    grace = await _renamed_then_died(bot, monkeypatch, local_update(900, ADA, "Grace"))

    # The user's next message reaches the restarted process before "Grace" comes again.
    thanks = local_update(901, ADA, "thanks!")
    assert await restarted(thanks) == [texts.unknown_input("thanks!")]

    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await restarted(grace) == [texts.renamed("Grace")]  # the answer it was owed
    assert await restarted(grace) == []
    assert await restarted(local_update(902, ADA, "/cancel")) == [texts.nothing_to_cancel()]


async def test_after_a_deletion_whose_process_died_unwritten_the_next_message_keeps_nothing(
    bot: BotUnderTest, restarted: Restarted, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/forget")
    _dies_before_recording(bot, monkeypatch)
    yes = local_update(900, ADA, "YES")
    with pytest.raises(ProcessDied):
        await bot.feed(yes)

    assert await restarted(local_update(901, ADA, "thanks")) == [texts.unknown_input("thanks")]
    assert await restarted(yes) == [texts.forgotten()]
    assert bot.stored_users() == []


async def test_a_question_left_by_another_process_stays_open_when_nothing_answered_it(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")
    await bot.send("Grace")
    await bot.send("/rename")  # asked after the last answer

    assert await restarted(local_update(900, ADA, "Bob")) == [texts.renamed("Bob")]


async def _renamed_then_died(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch, grace: Update
) -> Update:
    """Ada, registered, renames herself with `grace`: renamed and answered, then the
    process dies before the conversation is written."""
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")
    _dies_before_recording(bot, monkeypatch)
    with pytest.raises(ProcessDied):
        await bot.feed(grace)
    return grace


def _dies_before_recording(bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process "dies" at the write that would record the update as handled."""

    async def die(*args: object, **kwargs: object) -> None:
        raise ProcessDied

    monkeypatch.setattr(bot.dispatcher.storage, "write", die)
