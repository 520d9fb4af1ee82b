"""The buttons the local user can tap, numbered, for `profilebot chat`.

A terminal shows neither kind of Telegram button, so the chat prints them as numbered
choices and takes a typed number or label as a tap. What is offered follows what Telegram
would show. A message's inline buttons are printed once, under it, marked with the
message's tag (`#2:`); the bot's edits take them off or replace them (a replacement is
printed too). The reply keyboard is listed under the replies while it lasts, until a
reply removes or replaces it, as Telegram keeps it at the bottom of the chat.

A number or a label names one of the choices listed last: the inline buttons printed most
recently, while their message still carries them, then the keyboard's, numbered on. An
older message's buttons, still there, are named by its tag and a number: `#2.1`.
"""

import itertools
import re
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


_TAGGED = re.compile(r"#(?P<tag>[0-9]+)\.(?P<number>[0-9]+)")
"""A choice under a tagged message: `#2.1` is the first button under the message `#2`."""


@dataclass(frozen=True, slots=True)
class _Listed:
    """A message whose inline buttons are still there, with the tag it was listed under."""

    tag: int
    message: Message


class Choices:
    """Follows the bot's requests to know which buttons the user has now.

    Feed it every request (`requested`) and every sent message as Telegram answered it
    (`sent`), as `LocalBotSession` hands them over; each returns the line to print under
    what was just shown, if any.
    """

    def __init__(self) -> None:
        self._listed: dict[int, _Listed] = {}
        """Messages whose inline buttons are still there, by message id."""
        self._tags = itertools.count(1)
        self._listed_last = 0
        """The id of the message whose buttons were printed last."""
        self._keyboard: list[str] = []

    def requested(self, method: TelegramMethod[Any]) -> str | None:
        """Note a request; the line to print for it: a message's buttons replaced by an edit."""
        if isinstance(method, SendMessage):
            self._keyboard_from(method.reply_markup)
        elif isinstance(method, EditMessageReplyMarkup | EditMessageText):
            return self._edited(method.message_id, method.reply_markup)
        return None

    def sent(self, message: Message) -> str | None:
        """Note a sent message; its buttons, tagged, to print under it (None without)."""
        if not _inline_choices(message):
            return None
        return self._list(_Listed(next(self._tags), message))

    def now(self) -> list[Choice]:
        """What a number or a label names: the inline buttons listed last while their message
        still carries them, then the keyboard's."""
        latest = self._listed.get(self._listed_last)
        inline: list[Choice] = list(_inline_choices(latest.message)) if latest else []
        return inline + [KeyboardChoice(label=label) for label in self._keyboard]

    def chosen(self, line: str) -> Choice | None:
        """The choice `line` names: `#2.1` under a tagged message, or one of `now()` by its
        number as listed, or by its label, in any case and with or without its leading emoji
        ("cancel" for "❌ Cancel"). A keyboard button that is plain text (the offered name)
        matches only as written, so that what is typed is what is sent, as in Telegram."""
        typed = line.strip()
        if tagged := _TAGGED.fullmatch(typed):
            tag = int(tagged["tag"])
            listed = next((each for each in self._listed.values() if each.tag == tag), None)
            return _numbered_choice(
                _inline_choices(listed.message) if listed else [], tagged["number"]
            )
        choices = self.now()
        if typed.isdecimal():
            return _numbered_choice(choices, typed)
        return next((c for c in choices if _names(typed, c)), None)

    def keyboard_menu(self) -> str:
        """The keyboard's buttons as a numbered line, on from the inline buttons listed last;
        empty without a keyboard."""
        if not self._keyboard:
            return ""
        choices = self.now()
        keyboard_from = len(choices) - len(self._keyboard)
        return f"  {_numbered(choices[keyboard_from:], keyboard_from + 1)}"

    def _list(self, listed: _Listed) -> str:
        self._listed[listed.message.message_id] = listed
        self._listed_last = listed.message.message_id
        return f"  #{listed.tag}: {_numbered(_inline_choices(listed.message), 1)}"

    def _keyboard_from(self, markup: object) -> None:
        if isinstance(markup, ReplyKeyboardMarkup):
            self._keyboard = [button.text for row in markup.keyboard for button in row]
        elif isinstance(markup, ReplyKeyboardRemove):
            self._keyboard = []

    def _edited(self, message_id: int | None, markup: InlineKeyboardMarkup | None) -> str | None:
        """An edit without buttons takes them off, as Telegram does; one with buttons
        replaces them, under the same tag, and they are listed again."""
        listed = self._listed.get(message_id or 0)
        if listed is None:
            return None
        edited = listed.message.model_copy(update={"reply_markup": markup})
        if _inline_choices(edited):
            return self._list(_Listed(listed.tag, edited))
        del self._listed[listed.message.message_id]
        return None


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


def _numbered_choice(choices: Sequence[Choice], typed: str) -> Choice | None:
    number = int(typed)
    return choices[number - 1] if 1 <= number <= len(choices) else None


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
    return "   ".join(f"[{number}] {choice.label}" for number, choice in enumerate(choices, first))
