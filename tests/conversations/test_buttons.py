"""Buttons: the name keyboard while the bot waits for a name, and inline buttons under the
profile and under the question before deleting it. A tap leads where typing does; a press
that comes too late, twice, or with data no button carries is answered and changes nothing.
"""

import asyncio
import logging

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import User

from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import states, texts
from presentation.telegram.states import Forgetting, Registration, Renaming
from tests.conversations.conftest import ADA, BotUnderTest

TELEGRAM_NAME = "Ada Lovelace"
"""Who Telegram says the test's user is (`ADA_ON_TELEGRAM`)."""
BOB = 8


async def _registered(bot: BotUnderTest, name: str = "Ada") -> None:
    await bot.send("/start")
    await bot.send(name)


def _answers(bot: BotUnderTest) -> list[str | None]:
    """The texts of every callback answer so far, one per pressed button."""
    return [answer.text for answer in bot.callback_answers()]


# The name keyboard


async def test_registration_offers_the_telegram_name_and_tapping_it_registers(
    bot: BotUnderTest,
) -> None:
    assert await bot.send("/start") == [texts.ask_name()]
    assert bot.keyboard() == [TELEGRAM_NAME, texts.cancel_button()]

    assert await bot.tap(TELEGRAM_NAME) == [texts.registered(TELEGRAM_NAME)]

    assert [u["name"] for u in bot.stored_users()] == [TELEGRAM_NAME]
    assert bot.keyboard() == []


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [("/ada", None), ("\u200b", None), ("A" * 70, "B" * 70)],
    ids=["looks-like-a-command", "invisible", "too-long"],
)
async def test_an_invalid_telegram_name_is_not_offered(
    bot: BotUnderTest, first_name: str, last_name: str | None
) -> None:
    sender = User(id=BOB, is_bot=False, first_name=first_name, last_name=last_name)

    await bot.send("/start", user_id=BOB, sender=sender)

    assert bot.keyboard(BOB) == [texts.cancel_button()]


async def test_the_keyboard_stays_while_the_bot_still_waits_for_a_name(bot: BotUnderTest) -> None:
    await bot.send("/start")

    await bot.send("/definitely-not-a-name")  # answered as an invalid name
    await bot.send("/help")
    await bot.send_photo()

    assert bot.keyboard() == [TELEGRAM_NAME, texts.cancel_button()]
    assert await bot.tap(TELEGRAM_NAME) == [texts.registered(TELEGRAM_NAME)]


async def test_renaming_offers_the_telegram_name_unless_it_is_the_current_one(
    bot: BotUnderTest,
) -> None:
    await _registered(bot, "Ada")
    await bot.send("/rename")
    assert bot.keyboard() == [TELEGRAM_NAME, texts.cancel_button()]
    assert await bot.tap(TELEGRAM_NAME) == [texts.renamed(TELEGRAM_NAME)]
    assert bot.keyboard() == []

    await bot.send("/rename")

    assert bot.keyboard() == [texts.cancel_button()]


@pytest.mark.parametrize(
    ("start", "state", "cancelled"),
    [
        ("/start", Registration.waiting_for_name, "Registration cancelled"),
        ("/rename", Renaming.waiting_for_new_name, "Renaming cancelled"),
    ],
)
async def test_the_cancel_button_cancels_like_the_command(
    bot: BotUnderTest, start: str, state: object, cancelled: str
) -> None:
    if start == "/rename":
        await _registered(bot)
    await bot.send(start)

    [reply] = await bot.tap(texts.cancel_button())

    assert reply.startswith(cancelled)
    assert await bot.state_of() is None
    assert bot.keyboard() == []
    assert [u["name"] for u in bot.stored_users()] == (["Ada"] if start == "/rename" else [])


@pytest.mark.parametrize("how", ["typed /forget", "Delete pressed"])
async def test_the_keyboard_goes_when_the_question_before_deleting_ends_renaming(
    bot: BotUnderTest, how: str
) -> None:
    await _registered(bot)
    await bot.send("/me")
    await bot.send("/rename")

    if how == "typed /forget":
        replies = await bot.send("/forget")
    else:
        replies = await bot.press(texts.delete_button())

    assert replies == [
        states.cancelled(Renaming.waiting_for_new_name.state),
        texts.confirm_forget(),
    ]

    assert bot.keyboard() == []
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state


async def test_a_keyboard_left_by_an_expired_conversation_goes_with_the_answer_to_a_tap(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.dispatcher.storage.set_state(bot.storage_key(), None)  # expired meanwhile

    assert await bot.tap(TELEGRAM_NAME) == [texts.unknown_input(TELEGRAM_NAME)]

    assert bot.keyboard() == []
    assert bot.stored_users() == []


async def test_a_tapped_cancel_with_nothing_to_cancel_takes_the_keyboard_away(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.dispatcher.storage.set_state(bot.storage_key(), None)

    assert await bot.tap(texts.cancel_button()) == [texts.nothing_to_cancel()]
    assert bot.keyboard() == []


# Buttons under the profile


async def test_the_profile_has_rename_and_delete_buttons(bot: BotUnderTest) -> None:
    await _registered(bot)

    await bot.send("/me")

    assert bot.buttons() == [texts.rename_button(), texts.delete_button()]


async def test_rename_under_the_profile_starts_renaming_like_the_command(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())

    assert await bot.press(texts.rename_button()) == [texts.ask_new_name("Ada")]

    assert await bot.state_of() == Renaming.waiting_for_new_name.state
    assert bot.keyboard() == [TELEGRAM_NAME, texts.cancel_button()]
    assert _answers(bot) == [None]
    assert bot.retired() == [profile.message_id]
    assert await bot.send("Grace") == [texts.renamed("Grace")]


async def test_delete_under_the_profile_asks_like_the_command_and_its_buttons_answer(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/me")

    assert await bot.press(texts.delete_button()) == [texts.confirm_forget()]
    assert bot.buttons() == [texts.confirm_delete_button(), texts.keep_button()]
    question = bot.latest_with_button(texts.confirm_delete_button())

    assert await bot.press(texts.confirm_delete_button()) == [texts.forgotten()]

    assert bot.stored_users() == []
    assert bot.records.conversations() == 0
    assert _answers(bot) == [None, None]
    assert bot.retired()[-1] == question.message_id
    assert await bot.send("/me") == [texts.not_registered()]


async def test_keep_under_the_question_keeps_the_profile(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")

    assert await bot.press(texts.keep_button()) == [texts.kept()]

    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


async def test_typing_yes_still_deletes_and_takes_the_question_buttons_away(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())

    assert await bot.send("YES") == [texts.forgotten()]

    assert bot.stored_users() == []
    assert bot.retired() == [question.message_id]


async def test_cancel_takes_the_question_buttons_away(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())

    assert await bot.send("/cancel") == [texts.kept()]

    assert bot.retired() == [question.message_id]


async def test_register_rename_and_delete_with_menu_commands_and_taps_alone(
    bot: BotUnderTest,
) -> None:
    """Commands come from Telegram's menu (a tap too); the one name typed is the first."""
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/me")
    await bot.press(texts.rename_button())
    assert await bot.tap(TELEGRAM_NAME) == [texts.renamed(TELEGRAM_NAME)]
    await bot.send("/me")
    await bot.press(texts.delete_button())

    assert await bot.press(texts.confirm_delete_button()) == [texts.forgotten()]

    assert bot.stored_users() == []
    assert _answers(bot) == [None, None, None]


# Presses that change nothing


async def test_rename_pressed_twice_asks_once(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())
    await bot.press(texts.rename_button(), on=profile)

    assert await bot.press(texts.rename_button(), on=profile) == []

    assert _answers(bot) == [None, states.still_waiting(Renaming.waiting_for_new_name.state)]
    assert await bot.state_of() == Renaming.waiting_for_new_name.state


async def test_delete_pressed_twice_asks_once(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/me")
    profile = bot.latest_with_button(texts.delete_button())
    await bot.press(texts.delete_button(), on=profile)

    assert await bot.press(texts.delete_button(), on=profile) == []

    state = Forgetting.waiting_for_confirmation.state
    assert _answers(bot) == [None, states.still_waiting(state)]
    assert await bot.state_of() == state


@pytest.mark.parametrize("first", [texts.keep_button(), texts.confirm_delete_button()])
async def test_a_question_answered_by_button_cannot_be_answered_again(
    bot: BotUnderTest, first: str
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())
    await bot.press(first, on=question)
    users_after_first = bot.stored_users()

    for again in [texts.confirm_delete_button(), texts.keep_button()]:
        assert await bot.press(again, on=question) == []

    assert _answers(bot) == [None, texts.question_closed(), texts.question_closed()]
    assert bot.stored_users() == users_after_first
    assert await bot.state_of() is None


async def test_an_old_question_does_not_answer_a_new_one(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")
    old = bot.latest_with_button(texts.confirm_delete_button())
    await bot.send("/cancel")
    await bot.send("/forget")

    assert await bot.press(texts.confirm_delete_button(), on=old) == []

    assert _answers(bot) == [texts.question_closed()]
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state
    assert await bot.press(texts.confirm_delete_button()) == [texts.forgotten()]


async def test_an_old_question_is_closed_once_renaming_took_over(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")
    await bot.send("/rename")

    assert await bot.press(texts.confirm_delete_button()) == []

    assert _answers(bot) == [texts.question_closed()]
    assert await bot.state_of() == Renaming.waiting_for_new_name.state
    assert len(bot.stored_users()) == 1


async def test_profile_buttons_after_the_profile_is_gone_change_nothing(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())
    bot.records.delete_users()  # deleted meanwhile, from another device

    assert await bot.press(texts.rename_button(), on=profile) == []
    assert await bot.press(texts.delete_button(), on=profile) == []

    assert _answers(bot) == [texts.not_registered(), texts.nothing_to_forget()]
    assert await bot.state_of() is None
    assert bot.retired() == [profile.message_id, profile.message_id]


@pytest.mark.parametrize(
    "data",
    [
        "profile:explode",
        "forget:delete:again",
        "profile",
        "admin:drop",
        "",
        "profile:rename\x00",
    ],
)
async def test_forged_callback_data_is_answered_and_changes_nothing(
    bot: BotUnderTest, data: str
) -> None:
    await _registered(bot)
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())

    assert await bot.press(texts.rename_button(), on=profile, data=data) == []

    assert _answers(bot) == [texts.stale_button()]
    assert await bot.state_of() is None
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert bot.retired() == []  # it may carry real buttons


async def test_a_real_answer_forged_onto_another_message_changes_nothing(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())
    delete = (
        question.reply_markup.inline_keyboard[0][0].callback_data if question.reply_markup else ""
    )
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())

    assert await bot.press(texts.rename_button(), on=profile, data=str(delete)) == []

    assert _answers(bot) == [texts.question_closed()]
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state


async def test_the_keyboard_goes_when_registration_finds_the_profile_made_meanwhile(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    bot.records.put_user(ADA, "Bob")  # registered meanwhile, from another device

    assert await bot.tap(TELEGRAM_NAME) == [texts.already_registered("Bob")]
    assert bot.keyboard() == []


async def test_the_keyboard_goes_when_renaming_finds_the_profile_gone(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/rename")
    bot.records.delete_users()

    assert await bot.send("Grace") == [texts.not_registered()]
    assert bot.keyboard() == []


async def test_a_press_and_a_typed_answer_at_once_answer_the_question_once(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    press = bot.press_update(texts.confirm_delete_button())
    typed = local_update(1000, ADA, "no")

    await asyncio.gather(bot.feed(press), bot.feed(typed))

    replies = [r.text for r in bot.requests if isinstance(r, SendMessage)]
    outcomes = [r for r in replies if r in (texts.forgotten(), texts.kept())]
    assert len(outcomes) == 1, replies
    assert len(bot.stored_users()) == (0 if outcomes == [texts.forgotten()] else 1)
    assert await bot.state_of() is None
    assert len(bot.callback_answers()) == 1


async def test_an_answer_telegram_refuses_changes_nothing_the_press_did(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    session = bot.bot.session
    answered_by_telegram = session.make_request

    async def refusing(
        on: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the signature of make_request
    ) -> TelegramType:
        if isinstance(method, AnswerCallbackQuery):
            raise TelegramBadRequest(method=method, message="Bad Request: query is too old")
        return await answered_by_telegram(on, method, timeout)

    monkeypatch.setattr(session, "make_request", refusing)

    assert await bot.press(texts.confirm_delete_button()) == [texts.forgotten()]

    assert bot.stored_users() == []
    assert await bot.state_of() is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_button_delivered_twice_is_handled_once(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/forget")
    await bot.press(texts.confirm_delete_button())
    [press] = [u for u in bot.fed if u.callback_query is not None]

    assert await bot.feed(press) == []

    assert len(bot.callback_answers()) == 1
    assert bot.stored_users() == []


async def test_buttons_of_one_user_do_not_touch_another(bot: BotUnderTest) -> None:
    await _registered(bot)
    await bot.send("/start", user_id=BOB)
    await bot.send("Bob", user_id=BOB)
    await bot.send("/forget", user_id=BOB)
    await bot.send("/forget")

    await bot.press(texts.confirm_delete_button(), user_id=ADA)

    assert [u["name"] for u in bot.stored_users()] == ["Bob"]
    assert await bot.state_of(BOB) == Forgetting.waiting_for_confirmation.state


async def test_each_press_leaves_one_log_line_naming_its_handler(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await _registered(bot)
    await bot.send("/me")
    caplog.set_level(logging.INFO)

    await bot.press(texts.rename_button())

    silenced = "aiogram.event"  # by logging_setup, in favour of our line
    [line] = [r.getMessage() for r in caplog.records if r.name != silenced]
    assert f"type=callback_query user={ADA} handler=rename_pressed outcome=ok" in line


@pytest.mark.parametrize("data", ["admin:drop", "profile:delete:1"])
async def test_forged_data_on_the_open_question_leaves_its_buttons(
    bot: BotUnderTest, data: str
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())

    assert await bot.press(texts.keep_button(), on=question, data=data) == []

    assert bot.retired() == []
    assert await bot.press(texts.confirm_delete_button(), on=question) == [texts.forgotten()]


async def test_profile_buttons_of_a_profile_deleted_and_made_again_change_nothing(
    bot: BotUnderTest,
) -> None:
    await _registered(bot)
    await bot.send("/me")
    old = bot.latest_with_button(texts.rename_button())
    await bot.send("/forget")
    await bot.send("yes")
    await _registered(bot, "Grace")

    assert await bot.press(texts.rename_button(), on=old) == []
    assert await bot.press(texts.delete_button(), on=old) == []

    assert _answers(bot) == [texts.stale_button(), texts.stale_button()]
    assert await bot.state_of() is None
    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
