"""The buttons the bot offers, and the callback data its inline buttons carry.

Callback data comes back from the user's client, so it is never trusted: aiogram's
`CallbackData` parses it, and data that does not parse matches no button's handler (the
fallback answers it). What a valid button may do is still decided by the conversation's
state, never by the data alone.
"""

import logging
from datetime import datetime
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)

from domain.user_name import InvalidUserName, UserName
from presentation.telegram import states, texts
from presentation.telegram.filters import PressedButton
from presentation.telegram.states import Forgetting
from presentation.telegram.translation import LANGUAGES, in_every_language

log = logging.getLogger(__name__)

NAME_STATES = states.asking_for_a_name()
"""The states in which the name keyboard is shown (declared with each `Question`)."""

NO_KEYBOARD = ReplyKeyboardRemove()
"""Takes the name keyboard away; a no-op for a user who has none."""

QUESTION_KEY = "question"
"""In the conversation's data: the id of the message asking whether to delete the profile,
whose buttons alone answer it."""


class ProfileAction(StrEnum):
    RENAME = "rename"
    DELETE = "delete"


class ProfileButton(CallbackData, prefix="profile"):
    """Under the profile: start renaming or deleting, as /rename and /forget do, that
    profile only (`since`: when it was registered, see `profile_since`): the buttons of a
    profile deleted and made again do nothing."""

    action: ProfileAction
    since: int


class ForgetAnswer(StrEnum):
    DELETE = "delete"
    KEEP = "keep"


class ForgetButton(CallbackData, prefix="forget"):
    """Under the question whether to delete the profile."""

    answer: ForgetAnswer


class LanguageButton(CallbackData, prefix="language"):
    """Under the question which language to speak; the handler takes only a `code` the
    bot speaks."""

    code: str


def language_buttons(current: str) -> InlineKeyboardMarkup:
    """Each language named in itself (whoever reads it must find their own), the one
    spoken now marked."""
    return _inline(
        *(
            (f"✓ {name}" if code == current else name, LanguageButton(code=code))
            for code, name in LANGUAGES.items()
        )
    )


def profile_buttons(registered_at: datetime) -> InlineKeyboardMarkup:
    since = profile_since(registered_at)
    return _inline(
        (texts.rename_button(), ProfileButton(action=ProfileAction.RENAME, since=since)),
        (texts.delete_button(), ProfileButton(action=ProfileAction.DELETE, since=since)),
    )


def profile_since(registered_at: datetime) -> int:
    """A profile's registration time in milliseconds, the precision MongoDB keeps."""
    return int(registered_at.timestamp() * 1000)


def forget_buttons() -> InlineKeyboardMarkup:
    return _inline(
        (texts.confirm_delete_button(), ForgetButton(answer=ForgetAnswer.DELETE)),
        (texts.keep_button(), ForgetButton(answer=ForgetAnswer.KEEP)),
    )


def name_keyboard(offered: str | None) -> ReplyKeyboardMarkup:
    """The answers to "what should I call you?" that need no typing: the offered name, if
    any, and Cancel. A tap sends the label as a message, handled like a typed one."""
    rows = [[KeyboardButton(text=offered)]] if offered else []
    rows.append([KeyboardButton(text=texts.cancel_button())])
    return ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, input_field_placeholder=texts.name_placeholder()
    )


def offered_name(user: User | None, current: str | None = None) -> str | None:
    """The name Telegram has for `user`, as the user would type it, if it is a valid name,
    is not `current` and cannot be taken for the Cancel button."""
    if user is None:
        return None
    typed = " ".join(part for part in (user.first_name, user.last_name) if part)
    try:
        name = UserName(typed).value
    except InvalidUserName:
        return None
    return None if name == current or name in in_every_language(texts.cancel_button) else name


def keyboard_after(state: str | None) -> ReplyKeyboardRemove | None:
    """What a reply does to the name keyboard: leaves it while the bot still waits for a
    name, takes it away otherwise (whichever way the conversation ended, expiry included)."""
    return None if state in NAME_STATES else NO_KEYBOARD


async def open_question(state: FSMContext) -> int | None:
    """The id of the message asking whether to delete the profile, while that question is
    open (read with the conversation: no extra round trip)."""
    if await state.get_state() != Forgetting.waiting_for_confirmation.state:
        return None
    question = (await state.get_data()).get(QUESTION_KEY)
    return question if isinstance(question, int) else None


async def retire_pressed(bot: Bot, state: FSMContext, pressed: PressedButton) -> None:
    """Take the buttons off the message pressed, unless it asks the open question (a press
    with other data there, forged, must not take away the real answers)."""
    if await open_question(state) != pressed.message_id:
        await retire(bot, pressed.chat_id, pressed.message_id)


async def retire(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the inline buttons off a message once they have done their job, so they cannot
    be pressed again. Best effort: a message too old to edit keeps its buttons, which are
    then answered as stale, so a failure here is logged and the step goes on."""
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as error:
        log.info("buttons of message %d not edited away (%s)", message_id, error)


def _inline(*buttons: tuple[str, CallbackData]) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(text=label, callback_data=data.pack()) for label, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[row])
