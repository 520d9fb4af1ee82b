"""`profilebot chat` offers the bot's buttons as numbered choices, a message's inline ones
once, under it, tagged; a typed number, label or tag and number taps one as Telegram would:
the real container and dispatcher, storage in memory."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiogram.enums import ChatType
from aiogram.methods import EditMessageReplyMarkup, EditMessageText
from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message
from dependency_injector import providers

from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import run_chat
from presentation.entrypoints.terminal.choices import Choices
from presentation.telegram import states, texts
from presentation.telegram.states import Registration
from presentation.telegram.translation import speaking
from tests.conversations.conftest import InMemoryStorage

USER = 7
NAME_CHOICES = "  [1] Terminal   [2] ❌ Cancel"
"""The name keyboard: the local user's Telegram name ("Terminal"), and Cancel."""
PROFILE_CHOICES = "  #{}: [1] ✏️ Rename   [2] 🗑 Delete"
"""Under the profile: format with the message's tag, its place among those with buttons."""
QUESTION_CHOICES = "  #{}: [1] 🗑 Yes, delete it   [2] Keep it"

ChatRun = Callable[..., Awaitable[list[str]]]


@pytest.fixture
async def chat() -> AsyncIterator[ChatRun]:
    """Runs a chat with the typed lines; the transcript: each line as `you> line`, then
    every text the chat printed for it."""
    container = Container(settings=Settings(_env_file=None, flood_burst=10_000))
    container.mode.override(providers.Object("chat"))
    container.storage.override(InMemoryStorage())
    await asyncio.to_thread(lifecycle.start, container)
    transcript: list[str] = []

    async def typed(lines: tuple[str, ...]) -> AsyncIterator[str]:
        for line in lines:
            transcript.append(f"you> {line}")
            yield line

    async def run(*lines: str, language_code: str | None = None) -> list[str]:
        await run_chat(container, typed(lines), transcript.append, USER, language_code)
        return transcript

    yield run
    await asyncio.to_thread(lifecycle.stop, container)


async def test_start_offers_the_telegram_name_and_cancel_and_a_number_taps_one(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "1")

    assert transcript == [
        "you> /start",
        texts.ask_name(),
        NAME_CHOICES,
        "you> 1",
        texts.registered("Terminal"),  # the keyboard went with the reply: nothing offered
    ]


@pytest.mark.parametrize("typed", ["2", "cancel", "CANCEL", "❌ Cancel"])
async def test_cancel_is_tapped_by_its_number_or_its_label_with_or_without_emoji(
    chat: ChatRun, typed: str
) -> None:
    transcript = await chat("/start", typed, "/me")

    assert transcript[3:] == [
        f"you> {typed}",
        states.cancelled(Registration.waiting_for_name.state),
        "you> /me",
        texts.not_registered(),
    ]


async def test_the_profiles_delete_button_then_yes_deletes_the_profile(chat: ChatRun) -> None:
    transcript = await chat("/start", "Ada", "/me", "2", "1", "/me")

    profile_at = transcript.index("you> /me")
    assert transcript[profile_at + 1].startswith("Name: Ada\n")
    assert transcript[profile_at + 2 :] == [
        PROFILE_CHOICES.format(1),
        "you> 2",
        texts.confirm_forget(),
        QUESTION_CHOICES.format(2),
        "you> 1",
        texts.forgotten(),
        "you> /me",
        texts.not_registered(),
    ]


async def test_keep_it_is_tapped_by_its_label_in_any_case(chat: ChatRun) -> None:
    transcript = await chat("/start", "Ada", "/forget", "keep IT", "/me")

    assert transcript[7:11] == [
        QUESTION_CHOICES.format(1),
        "you> keep IT",
        texts.kept(),
        "you> /me",
    ]
    assert transcript[11].startswith("Name: Ada\n")


async def test_a_used_button_is_no_longer_offered(chat: ChatRun) -> None:
    transcript = await chat("/start", "Ada", "/me", "rename", "rename")

    assert transcript[7:] == [
        PROFILE_CHOICES.format(1),
        "you> rename",
        texts.ask_new_name("Ada"),
        NAME_CHOICES,  # Rename is gone with the profile's buttons: the keyboard alone
        "you> rename",  # no choice any more: a name, as typed
        texts.renamed("rename"),
    ]


async def test_a_number_that_is_no_choice_is_an_ordinary_message(chat: ChatRun) -> None:
    transcript = await chat("1", "/start", "3")

    assert transcript == [
        "you> 1",
        texts.unknown_input("1"),
        "you> /start",
        texts.ask_name(),
        NAME_CHOICES,
        "you> 3",
        texts.registered("3"),
    ]


async def test_a_pressed_buttons_answer_is_shown_and_older_live_buttons_are_not_listed_again(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "Ada", "/forget", "/me", "delete")

    me_at = transcript.index("you> /me")
    assert transcript[me_at + 2 :] == [
        PROFILE_CHOICES.format(2),  # the question's (#1) are still there, above
        "you> delete",
        f"({states.still_waiting('Forgetting:waiting_for_confirmation')})",
    ]


async def test_a_message_s_buttons_are_listed_once_under_it_not_under_later_replies(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "Ada", "/me", "/language", "Русский", "/help")

    me_at = transcript.index("you> /me")
    assert transcript[me_at + 1].startswith("Name: Ada\n")
    assert transcript[me_at + 2 :] == [
        PROFILE_CHOICES.format(1),
        "you> /language",
        texts.choose_language(),
        "  #2: [1] ✓ English   [2] Русский",
        "you> Русский",
        speaking_ru(texts.language_chosen),
        "you> /help",
        speaking_ru(texts.help_text),  # the English profile's buttons are not repeated
    ]


async def test_an_older_messages_button_is_tapped_by_its_tag_and_number(chat: ChatRun) -> None:
    transcript = await chat("/start", "Ada", "/forget", "/me", "delete", "#1.1")

    assert transcript[-2:] == ["you> #1.1", texts.forgotten()]  # "Yes, delete it" under #1


async def test_a_number_names_the_choices_listed_last_never_an_older_messages(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "Ada", "/forget", "/me", "delete", "1")

    # The choices listed last (the profile's) are gone: "1" is a message, which keeps the
    # profile, not a tap on the question's "Yes, delete it" above them.
    assert transcript[-2:] == ["you> 1", texts.kept()]


async def test_inline_and_keyboard_choices_are_numbered_on_from_each_other(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "Ada", "/rename", "/me", "3")

    assert transcript[7:9] == [NAME_CHOICES, "you> /me"]
    assert transcript[10:] == [
        PROFILE_CHOICES.format(1),
        "  [3] Terminal   [4] ❌ Cancel",
        "you> 3",
        texts.renamed("Terminal"),  # the profile's buttons, still there, are not repeated
    ]


def test_an_edit_with_other_buttons_lists_them_again_and_one_without_takes_them_off() -> None:
    choices = Choices()
    assert choices.sent(_message(1, "A")) == "  #1: [1] A"
    assert choices.sent(_message(2, "B")) == "  #2: [1] B"

    replaced = EditMessageReplyMarkup(chat_id=USER, message_id=1, reply_markup=_keys("C"))
    assert choices.requested(replaced) == "  #1: [1] C"
    assert choices.chosen("1") == choices.chosen("c") == choices.chosen("#1.1") is not None
    assert choices.requested(EditMessageText(chat_id=USER, message_id=2, text="edited")) is None
    assert choices.chosen("#2.1") is None
    assert choices.requested(EditMessageReplyMarkup(chat_id=USER, message_id=1)) is None
    assert (choices.chosen("1"), choices.chosen("#1.1")) == (None, None)


def speaking_ru(text: Callable[[], str]) -> str:
    with speaking("ru"):
        return text()


def _message(message_id: int, label: str) -> Message:
    return Message(
        message_id=message_id,
        date=datetime.now(UTC),
        chat=Chat(id=USER, type=ChatType.PRIVATE),
        text="with buttons",
        reply_markup=_keys(label),
    )


def _keys(label: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=label, callback_data=label.lower())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


@pytest.mark.parametrize(("typed", "name"), [("\\2", "2"), ("\\Cancel", "Cancel")])
async def test_a_backslash_sends_a_line_that_names_a_choice_as_a_message(
    chat: ChatRun, typed: str, name: str
) -> None:
    transcript = await chat("/start", typed)

    assert transcript[3:] == [f"you> {typed}", texts.registered(name)]


async def test_a_chat_whose_user_telegram_says_speaks_russian_is_in_russian(
    chat: ChatRun,
) -> None:
    transcript = await chat("/start", "отмена", language_code="ru")

    with speaking("ru"):
        expected = [
            "you> /start",
            texts.ask_name(),
            "  [1] Terminal   [2] ❌ Отмена",
            "you> отмена",
            states.cancelled(Registration.waiting_for_name.state),
        ]
    assert transcript == expected
