"""The buttons the local user could tap now, numbered, for `profilebot chat`.

A terminal shows neither kind of Telegram button, so the chat lists them under the replies
and takes a typed number or label as a tap. What is offered follows what Telegram would show:
the inline buttons of the latest message still carrying some (the bot's edits take them
off), and the reply keyboard, kept until a reply removes or replaces it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineChoice:
    """A button under a bot's message: a tap is a callback query with its data."""

    label: str
    pressed_on: Message
    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyboardChoice:
    """A reply keyboard button: a tap sends its label as a message."""

    label: str


Choice = InlineChoice | KeyboardChoice


class Choices:
    """Follows the bot's requests to know which buttons the user has now.

    Feed it every request (`requested`) and every sent message as Telegram answered it
    (`sent`), as `LocalBotSession` hands them over.
    """

    def __init__(self) -> None:
        self._with_buttons: dict[int, Message] = {}
        """Sent messages whose inline buttons are still there, by id, oldest first."""
        self._keyboard: list[str] = []

    def requested(self, method: TelegramMethod[Any]) -> None:
        if isinstance(method, SendMessage):
            self._keyboard_from(method.reply_markup)
        elif isinstance(method, EditMessageReplyMarkup | EditMessageText):
            self._edited(method.message_id, method.reply_markup)

    def sent(self, message: Message) -> None:
        if _inline_choices(message):
            self._with_buttons[message.message_id] = message

    def now(self) -> list[Choice]:
        """Inline buttons first (they sit under the replies), then the keyboard's."""
        latest = next(reversed(self._with_buttons.values()), None)
        inline: list[Choice] = list(_inline_choices(latest)) if latest else []
        return inline + [KeyboardChoice(label=label) for label in self._keyboard]

    def chosen(self, line: str) -> Choice | None:
        """The choice `line` names: its number as listed, or its label, in any case and with
        or without its leading emoji ("cancel" for "❌ Cancel"). A keyboard button that is
        plain text (the offered name) matches only as written, so that what is typed is what
        is sent, as in Telegram."""
        typed = line.strip()
        choices = self.now()
        if typed.isdecimal():
            number = int(typed)
            return choices[number - 1] if 1 <= number <= len(choices) else None
        return next((c for c in choices if _names(typed, c)), None)

    def menu(self) -> str:
        """The choices as numbered lines, one per kind of button; empty if there are none."""
        choices = self.now()
        inline = [c for c in choices if isinstance(c, InlineChoice)]
        lines = [_numbered(inline, 1), _numbered(choices[len(inline) :], len(inline) + 1)]
        return "\n".join(line for line in lines if line)

    def _keyboard_from(self, markup: object) -> None:
        if isinstance(markup, ReplyKeyboardMarkup):
            self._keyboard = [button.text for row in markup.keyboard for button in row]
        elif isinstance(markup, ReplyKeyboardRemove):
            self._keyboard = []

    def _edited(self, message_id: int | None, markup: InlineKeyboardMarkup | None) -> None:
        """An edit without buttons takes them off, as Telegram does; one with buttons
        replaces them, the message keeping its place."""
        message = self._with_buttons.get(message_id or 0)
        if message is None:
            return
        edited = message.model_copy(update={"reply_markup": markup})
        if _inline_choices(edited):
            self._with_buttons[message.message_id] = edited
        else:
            del self._with_buttons[message.message_id]


def _inline_choices(message: Message) -> list[InlineChoice]:
    """The buttons under `message` that a tap can press (URL buttons open a link instead)."""
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [
        InlineChoice(label=button.text, pressed_on=message, data=button.callback_data)
        for row in markup.inline_keyboard
        for button in row
        if button.callback_data is not None
    ]


def _names(typed: str, choice: Choice) -> bool:
    if isinstance(choice, KeyboardChoice) and choice.label[:1].isalnum():
        return typed == choice.label
    return typed.casefold() in _spellings(choice.label)


def _spellings(label: str) -> set[str]:
    """How a label may be typed: itself, or without the emoji and spaces it starts with."""
    bare = label
    while bare and not bare[0].isalnum():
        bare = bare[1:]
    return {label.casefold(), bare.casefold()} - {""}


def _numbered(choices: Sequence[Choice], first: int) -> str:
    items = (f"[{number}] {choice.label}" for number, choice in enumerate(choices, first))
    return "  " + "   ".join(items) if choices else ""
