"""Filters shared by the routers. All async: aiogram runs sync filters in a thread pool."""

from dataclasses import dataclass
from typing import Any

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, TelegramObject


class PrivateChatUser(Filter):
    """Only messages a person sends the bot directly.

    Profiles are personal, so group chats and channels are left alone.
    """

    async def __call__(self, message: Message) -> bool:
        return message.chat.type == ChatType.PRIVATE and message.from_user is not None


@dataclass(frozen=True)
class PressedButton:
    """Where the pressed button is: the bot's message that carries it."""

    chat_id: int
    message_id: int


class PrivateChatButton(Filter):
    """Only buttons a person presses under the bot's messages in a private chat; passes the
    message as `pressed` (a `PressedButton`)."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return False
        pressed = PressedButton(chat_id=message.chat.id, message_id=message.message_id)
        return {"pressed": pressed}


class TextIs(Filter):
    """Messages whose text is exactly one of `texts`, such as a reply keyboard button's
    label in each language."""

    def __init__(self, *texts: str) -> None:
        self._texts = frozenset(texts)

    def __str__(self) -> str:
        return f"TextIs({sorted(self._texts)!r})"

    async def __call__(self, message: Message) -> bool:
        return message.text in self._texts


class TextMessage(Filter):
    """Messages with text (not stickers, photos, …); passes the text as `text`."""

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return False if message.text is None else {"text": message.text}


class InState(Filter):
    """Passes when the conversation is in `state`; reads it through the update's cache.

    Use it instead of aiogram's `StateFilter`, which reads `raw_state`: the lazy FSM
    middleware never provides that, so building a dispatcher with a `StateFilter` fails.
    """

    def __init__(self, state: State) -> None:
        self._state = state.state

    def __str__(self) -> str:
        return f"InState({self._state})"

    async def __call__(self, event: TelegramObject, state: FSMContext | None = None) -> bool:
        return state is not None and await state.get_state() == self._state
