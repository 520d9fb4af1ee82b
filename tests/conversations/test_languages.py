"""Replies in the user's language: the choice made with /language, else Telegram's
`language_code`, else English. Every conversation through the real dispatcher, in Russian;
the English ones are every other test of this package."""

import asyncio
from collections.abc import Callable
from typing import ParamSpec

import pytest
from aiogram.methods import SendMessage, SetMyCommands
from aiogram.types import BotCommandScopeChat, Message, User

from application.profile import UserProfile
from domain.user_name import NameProblem
from infrastructure.mongo_user_repository import user_from_document
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import states, texts
from presentation.telegram.states import Forgetting, Registration, Renaming
from presentation.telegram.translation import speaking
from tests.conversations.conftest import ADA, BotUnderTest, Restarted

RUSLAN = 21
RUSLAN_ON_TELEGRAM = User(id=RUSLAN, is_bot=False, first_name="Руслан", language_code="ru")


P = ParamSpec("P")


def ru(text: Callable[P, str], *args: P.args, **kwargs: P.kwargs) -> str:
    """`text` as the bot says it in Russian."""
    with speaking("ru"):
        return text(*args, **kwargs)


async def _say(bot: BotUnderTest, text: str, sender: User = RUSLAN_ON_TELEGRAM) -> list[str]:
    return await bot.send(text, user_id=sender.id, sender=sender)


async def _tap(bot: BotUnderTest, label: str) -> list[str]:
    assert label in bot.keyboard(RUSLAN), bot.keyboard(RUSLAN)
    return await _say(bot, label)


async def _press(bot: BotUnderTest, label: str, on: Message | None = None) -> list[str]:
    return await bot.feed(bot.press_update(label, RUSLAN, on, sender=RUSLAN_ON_TELEGRAM))


def _answers(bot: BotUnderTest) -> list[str | None]:
    return [answer.text for answer in bot.callback_answers()]


async def test_registration_is_in_russian_with_russian_buttons(bot: BotUnderTest) -> None:
    assert await _say(bot, "/start") == [ru(texts.ask_name)]
    assert bot.keyboard(RUSLAN) == ["Руслан", "❌ Отмена"]

    assert await _tap(bot, "Руслан") == [ru(texts.registered, "Руслан")]

    assert [u["name"] for u in bot.stored_users()] == ["Руслан"]
    assert bot.keyboard(RUSLAN) == []


async def test_the_profile_is_in_russian_with_a_russian_date(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    [user] = bot.stored_users()

    [profile] = await _say(bot, "/me")

    assert profile == ru(texts.profile, UserProfile.of(user_from_document(user)))
    assert profile.startswith("Имя: Руслан\nДата регистрации: ")
    assert "\u202fг., " in profile  # "27 ноября 2026 г., 14:20 UTC": the long Russian date
    assert bot.buttons(RUSLAN) == ["✏️ Изменить имя", "🗑 Удалить"]


async def test_renaming_is_in_russian(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/me")

    assert await _press(bot, "✏️ Изменить имя") == [ru(texts.ask_new_name, "Руслан")]
    assert await _say(bot, "/" + "x") == [ru(texts.invalid_name, NameProblem.LOOKS_LIKE_COMMAND)]
    assert await _say(bot, "Р" * 65) == [ru(texts.invalid_name, NameProblem.TOO_LONG)]
    assert await _say(bot, "Руся") == [ru(texts.renamed, "Руся")]
    assert await _say(bot, "/rename") == [ru(texts.ask_new_name, "Руся")]
    assert await _tap(bot, "❌ Отмена") == [
        ru(states.cancelled, Renaming.waiting_for_new_name.state)
    ]


@pytest.mark.parametrize("confirmation", ["press", "ДА", "да", "yes"])
async def test_deleting_is_in_russian_and_confirmed_by_button_or_yes_in_either_language(
    bot: BotUnderTest, confirmation: str
) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")

    assert await _say(bot, "/forget") == [ru(texts.confirm_forget)]
    assert bot.buttons(RUSLAN) == ["🗑 Да, удалить", "Оставить"]
    if confirmation == "press":
        replies = await _press(bot, "🗑 Да, удалить")
    else:
        replies = await _say(bot, confirmation)

    assert replies == [ru(texts.forgotten)]
    assert bot.stored_users() == []


async def test_answers_that_change_nothing_are_in_russian(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/forget")
    question = bot.latest_with_button("Оставить", RUSLAN)
    assert await _press(bot, "Оставить") == [ru(texts.kept)]

    await _press(bot, "Оставить", on=question)

    assert _answers(bot) == [None, ru(texts.question_closed)]
    assert await _say(bot, "привет") == [ru(texts.unknown_input, "привет")]
    assert await _say(bot, "/cancel") == [ru(texts.nothing_to_cancel)]
    assert await _say(bot, "/help") == [ru(texts.help_text)]


# Choosing with /language


async def test_language_offers_each_language_named_in_itself_with_the_current_marked(
    bot: BotUnderTest,
) -> None:
    assert await _say(bot, "/language") == [ru(texts.choose_language)]
    assert bot.buttons(RUSLAN) == ["English", "✓ Русский"]

    assert await bot.send("/language") == [texts.choose_language()]
    assert bot.buttons() == ["✓ English", "Русский"]


async def test_a_registered_user_switches_to_english_against_telegrams_russian(
    bot: BotUnderTest,
) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/language")

    assert await _press(bot, "English") == [texts.language_chosen()]

    assert [u.get("language") for u in bot.stored_users()] == ["en"]
    for command, reply in [
        ("/help", texts.help_text()),
        ("/cancel", texts.nothing_to_cancel()),
        ("привет", texts.unknown_input("привет")),
        ("/rename", texts.ask_new_name("Руслан")),
    ]:
        assert await _say(bot, command) == [reply], command
    assert bot.keyboard(RUSLAN) == [texts.cancel_button()]


async def test_a_choice_made_before_registering_goes_with_the_conversation_into_the_profile(
    bot: BotUnderTest,
) -> None:
    await bot.send("/language")  # Ada: Telegram says English

    assert await bot.press("Русский") == [ru(texts.language_chosen)]

    assert bot.stored_users() == []
    assert await bot.send("/cancel") == [ru(texts.nothing_to_cancel)]
    assert await bot.send("/start") == [ru(texts.ask_name)]
    assert await bot.tap("❌ Отмена") == [ru(states.cancelled, Registration.waiting_for_name.state)]
    assert await bot.send("/start") == [ru(texts.ask_name)]
    assert await bot.send("Ada") == [ru(texts.registered, "Ada")]
    assert [u.get("language") for u in bot.stored_users()] == ["ru"]
    assert await bot.send("/me") != []
    assert await bot.send("/forget") == [ru(texts.confirm_forget)]


async def test_choosing_the_same_language_again_changes_nothing(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/language")
    await _press(bot, "English")
    await _say(bot, "/language")

    assert await _press(bot, "✓ English") == [texts.language_chosen()]
    assert [u.get("language") for u in bot.stored_users()] == ["en"]


async def test_forgetting_the_profile_forgets_the_choice(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/language")
    await _press(bot, "English")
    await _say(bot, "/forget")

    assert await _say(bot, "yes") == [texts.forgotten()]  # said in the language chosen

    assert await _say(bot, "/help") == [ru(texts.help_text)]  # Telegram's again
    assert await _say(bot, "/start") == [ru(texts.ask_name)]
    assert [type(r).__name__ for r in bot.requests if "MyCommands" in type(r).__name__] == [
        "SetMyCommands",  # the chat's menu in English, when chosen
        "DeleteMyCommands",  # and gone with the choice
    ]


async def test_a_language_the_bot_does_not_speak_is_not_chosen(bot: BotUnderTest) -> None:
    await bot.send("/language")
    question = bot.latest_with_button("Русский")

    assert await bot.press("Русский", on=question, data="language:de") == []

    assert [answer.text for answer in bot.callback_answers()] == [texts.stale_button()]
    assert await bot.send("/start") == [texts.ask_name()]


@pytest.mark.parametrize(
    ("language_code", "speaks"),
    [(None, "en"), ("de", "en"), ("en-GB", "en"), ("ru", "ru"), ("ru-RU", "ru"), ("RU", "ru")],
)
async def test_telegrams_language_code_picks_the_language_else_english(
    bot: BotUnderTest, language_code: str | None, speaks: str
) -> None:
    sender = User(id=RUSLAN, is_bot=False, first_name="X", language_code=language_code)

    replies = await _say(bot, "/start", sender)

    with speaking(speaks):
        assert replies == [texts.ask_name()]


async def test_the_plural_of_the_name_limit_follows_the_language() -> None:
    with speaking("ru"):
        forms = [texts.too_long(n) for n in (1, 2, 5, 21, 22, 64, 111)]
    with speaking("en"):
        english = [texts.too_long(n) for n in (1, 2)]

    assert [form.split()[-1] for form in forms] == [
        "символ.",
        "символа.",
        "символов.",
        "символ.",
        "символа.",
        "символа.",
        "символов.",
    ]
    assert [form.split()[-1] for form in english] == ["character.", "characters."]


@pytest.mark.parametrize(
    ("state", "pressed"),
    [
        (Forgetting.waiting_for_confirmation.state, "/forget"),
        (Renaming.waiting_for_new_name.state, "/rename"),
    ],
)
async def test_language_keeps_the_conversation_in_progress(
    bot: BotUnderTest, state: str, pressed: str
) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, pressed)

    [reply] = await _say(bot, "/language")
    await _press(bot, "English")

    assert reply.endswith(ru(states.still_waiting, state))
    assert await bot.state_of(RUSLAN) == state


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_the_choice_survives_a_restart(bot: BotUnderTest, restarted: Restarted) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/language")
    await _press(bot, "English")

    [profile] = await restarted(local_update(9_000, RUSLAN, "/me", RUSLAN_ON_TELEGRAM))

    assert profile.startswith("Name: Руслан\nRegistered: ")


async def test_a_registered_users_chat_gets_the_command_menu_of_the_language_chosen(
    bot: BotUnderTest,
) -> None:
    await bot.send("/language")
    await bot.press("Русский")  # no profile yet: the choice, not a menu, would expire
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/language")

    await bot.press("English")
    await bot.send("/language")
    await bot.press("Русский")

    menus = [r for r in bot.requests if isinstance(r, SetMyCommands)]
    assert [m.commands[0].description for m in menus] == ["Register", "Зарегистрироваться"]
    assert all(isinstance(m.scope, BotCommandScopeChat) for m in menus)
    assert {m.scope.chat_id for m in menus if isinstance(m.scope, BotCommandScopeChat)} == {ADA}


async def test_a_name_keyboard_showing_comes_again_in_the_language_chosen(
    bot: BotUnderTest,
) -> None:
    await _say(bot, "/start")
    assert bot.keyboard(RUSLAN) == ["Руслан", "❌ Отмена"]
    await _say(bot, "/language")

    await _press(bot, "English")

    assert bot.keyboard(RUSLAN) == ["Руслан", "❌ Cancel"]
    assert await _tap(bot, "❌ Cancel") == [states.cancelled(Registration.waiting_for_name.state)]


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_an_update_that_waited_for_the_choice_speaks_the_language_chosen(
    bot: BotUnderTest,
) -> None:
    """On MongoDB only: in memory nothing waits, so the two updates could not overlap."""
    await _say(bot, "/language")
    press = bot.press_update("English", RUSLAN, sender=RUSLAN_ON_TELEGRAM)
    help_after = local_update(5_000, RUSLAN, "/help", RUSLAN_ON_TELEGRAM)
    requests_before = len(bot.requests)

    await asyncio.gather(bot.feed(press), bot.feed(help_after))

    said = [r.text for r in bot.requests[requests_before:] if isinstance(r, SendMessage)]
    assert said == [texts.language_chosen(), texts.help_text()]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["/start", "Руслан", "/start"], lambda: ru(texts.already_registered, "Руслан")),
        (["/start", "Руслан", "/rename", "Руслан"], lambda: ru(texts.name_unchanged, "Руслан")),
        (["/forget"], lambda: ru(texts.nothing_to_forget)),
        (["/rename"], lambda: ru(texts.not_registered)),
        (
            ["/start", "Руслан", "/rename", "/me"],
            lambda: ru(states.still_waiting, Renaming.waiting_for_new_name.state),
        ),
    ],
    ids=["already-registered", "name-unchanged", "nothing-to-forget", "not-registered", "reminder"],
)
async def test_the_other_answers_are_in_russian_too(
    bot: BotUnderTest, steps: list[str], expected: Callable[[], str]
) -> None:
    for step in steps[:-1]:
        await _say(bot, step)

    [reply] = await _say(bot, steps[-1])

    assert reply.endswith(expected())


async def test_a_photo_where_a_name_is_awaited_is_answered_in_russian(bot: BotUnderTest) -> None:
    await bot.send("/language")
    await bot.press("Русский")
    await bot.send("/start")

    assert await bot.send_photo() == [ru(texts.need_text_name)]


async def test_a_second_press_of_rename_is_answered_in_russian(bot: BotUnderTest) -> None:
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/me")
    profile = bot.latest_with_button("✏️ Изменить имя", RUSLAN)
    await _press(bot, "✏️ Изменить имя", on=profile)

    await _press(bot, "✏️ Изменить имя", on=profile)

    assert _answers(bot)[-1] == ru(states.still_waiting, Renaming.waiting_for_new_name.state)


@pytest.mark.mongo
@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
async def test_after_a_restart_help_speaks_telegrams_language_until_a_step_reads_the_choice(
    bot: BotUnderTest, restarted: Restarted
) -> None:
    """The documented limit: /help reads nothing, so a process that has not yet seen the
    user speaks Telegram's language; the first step that reads settles the choice."""
    await _say(bot, "/start")
    await _say(bot, "Руслан")
    await _say(bot, "/language")
    await _press(bot, "English")

    assert await restarted(local_update(9_001, RUSLAN, "/help", RUSLAN_ON_TELEGRAM)) == [
        ru(texts.help_text)
    ]
    await restarted(local_update(9_002, RUSLAN, "/me", RUSLAN_ON_TELEGRAM))
    assert await restarted(local_update(9_003, RUSLAN, "/help", RUSLAN_ON_TELEGRAM)) == [
        texts.help_text()
    ]
