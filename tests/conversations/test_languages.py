"""Replies in the user's language: the choice made with /language, else Telegram's
`language_code`, else English. Every conversation through the real dispatcher, in Russian;
the English ones are every other test of this package."""

from collections.abc import Callable
from typing import ParamSpec

import pytest
from aiogram.types import Message, User

from domain.user_name import NameProblem
from presentation.entrypoints.terminal_chat import local_update
from presentation.telegram import texts
from presentation.telegram.states import Forgetting, Registration, Renaming
from presentation.telegram.translation import speaking
from tests.conversations.conftest import BotUnderTest, Restarted

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

    assert profile == ru(texts.profile, "Руслан", user["created_at"])
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
        ru(texts.cancelled, Renaming.waiting_for_new_name.state)
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
    assert await bot.tap("❌ Отмена") == [ru(texts.cancelled, Registration.waiting_for_name.state)]
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

    assert await _say(bot, "/start") == [ru(texts.ask_name)]  # Telegram's again


async def test_a_language_the_bot_does_not_speak_is_not_chosen(bot: BotUnderTest) -> None:
    await bot.send("/language")
    profile = bot.latest_with_button("Русский")

    assert await bot.press("Русский", on=profile, data="language:de") == []

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

    assert reply.endswith(ru(texts.still_waiting, state))
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
