"""The use case succeeded, then the reply could not be sent (and neither could the apology):
the update fails, so Telegram delivers it again. Its change is written all the same, so the
user's next message is read after the step; the step is owed to its own update, so its
redelivery is answered as the first time should have been, and the effect happens once.
A refusal for good (the user blocked the bot) is not worth a redelivery: the step is
recorded and counted, and the update ends there."""

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError
from aiogram.types import Update

from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from tests.conversations.conftest import ADA, BotUnderTest, refuse_replies

NAME = 900
"""The id of the update under test: a test feeds the very same update again."""


async def _renaming(bot: BotUnderTest) -> None:
    for text in ("/start", "Ada", "/rename"):
        await bot.send(text)


async def _failed(bot: BotUnderTest, update: Update) -> None:
    refuse_replies(bot)
    with pytest.raises(TelegramNetworkError):
        await bot.feed(update)


def _names(bot: BotUnderTest) -> list[str]:
    return [u["name"] for u in bot.stored_users()]


async def test_a_rename_whose_reply_failed_is_answered_renamed_when_delivered_again(
    bot: BotUnderTest,
) -> None:
    await _renaming(bot)
    bob = local_update(NAME, ADA, "Bob")
    await _failed(bot, bob)
    assert _names(bot) == ["Bob"]

    assert await bot.feed(bob) == [texts.renamed("Bob")]  # not "I didn't get that"

    assert _names(bot) == ["Bob"]
    assert await bot.send("thanks") == [texts.unknown_input("thanks")]
    assert await bot.feed(bob) == []  # handled to the end now (or, in memory, seen)


async def test_after_a_rename_whose_reply_failed_the_next_message_is_no_new_name(
    bot: BotUnderTest,
) -> None:
    await _renaming(bot)
    bob = local_update(NAME, ADA, "Bob")
    await _failed(bot, bob)

    assert await bot.send("thanks!") == [texts.unknown_input("thanks!")]
    assert await bot.send("/cancel") == [texts.nothing_to_cancel()]

    assert await bot.feed(bob) == [texts.renamed("Bob")]  # still owed, after the others
    assert _names(bot) == ["Bob"]


async def test_a_deletion_whose_reply_failed_is_confirmed_when_delivered_again(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/forget")
    yes = local_update(NAME, ADA, "YES")
    await _failed(bot, yes)
    assert bot.stored_users() == []

    assert await bot.send("thanks") == [texts.unknown_input("thanks")]  # not "kept"
    assert await bot.feed(yes) == [texts.forgotten()]
    assert await bot.send("/me") == [texts.not_registered()]


async def test_a_registration_whose_reply_failed_is_confirmed_when_delivered_again(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    ada = local_update(NAME, ADA, "Ada")
    await _failed(bot, ada)

    assert await bot.send("Grace") == [texts.unknown_input("Grace")]
    assert await bot.feed(ada) == [texts.registered("Ada")]
    assert _names(bot) == ["Ada"]


async def test_a_user_who_blocked_the_bot_costs_one_try_and_is_counted(
    bot: BotUnderTest,
) -> None:
    await _renaming(bot)
    bob = local_update(NAME, ADA, "Bob")
    refuse_replies(bot, failures=1, error=TelegramForbiddenError)

    assert await bot.feed(bob) == []  # no exception: nothing to deliver again

    assert _names(bot) == ["Bob"]
    assert await bot.state_of() is None
    metrics = bot.container.metrics().exposition().decode()
    assert 'profilebot_updates_total{outcome="refused",type="message"} 1.0' in metrics
    assert await bot.feed(bob) == []  # delivered again all the same: done, not re-run
    assert _names(bot) == ["Bob"]


async def test_an_answer_to_an_error_refused_for_good_ends_the_update(bot: BotUnderTest) -> None:
    await _renaming(bot)
    refuse_replies(bot, failures=1, error=TelegramForbiddenError)

    assert await bot.send("a" * 100) == []  # too long: its answer refused, nothing raised

    assert _names(bot) == ["Ada"]
    assert await bot.send("Bob") == [texts.renamed("Bob")]  # still asked for a new name


async def test_an_owed_rename_delivered_after_a_later_rename_does_not_undo_it(
    bot: BotUnderTest,
) -> None:
    await _renaming(bot)
    bob = local_update(NAME, ADA, "Bob")
    await _failed(bot, bob)
    await bot.send("/rename")
    assert await bot.send("Carl") == [texts.renamed("Carl")]

    await bot.feed(bob)  # the conversation moved on: it owes "Bob" nothing any more

    assert _names(bot) == ["Carl"]


async def test_an_owed_registration_delivered_after_the_profile_was_deleted_does_not_bring_it_back(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    ada = local_update(NAME, ADA, "Ada")
    await _failed(bot, ada)
    await bot.send("/forget")
    assert await bot.send("YES") == [texts.forgotten()]

    await bot.feed(ada)

    assert bot.stored_users() == []


async def test_an_owed_deletion_delivered_after_registering_again_does_not_delete_the_new_profile(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/forget")
    yes = local_update(NAME, ADA, "YES")
    await _failed(bot, yes)
    await bot.send("/start")
    assert await bot.send("Ann") == [texts.registered("Ann")]

    await bot.feed(yes)

    assert _names(bot) == ["Ann"]
