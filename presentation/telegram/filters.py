"""Filters shared by the routers. All async: aiogram runs sync filters in a thread pool."""

from typing import Any

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message, TelegramObject


class PrivateChatUser(Filter):
    """Only messages a person sends the bot directly; passes the sender's id as `sender_id`.

    Profiles are personal, so group chats and channels are left alone.
    """

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        if message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return False
        return {"sender_id": message.from_user.id}


class TextMessage(Filter):
    """Messages with text (not stickers, photos, …); passes the text as `text`."""

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return False if message.text is None else {"text": message.text}


class InState(Filter):
    """Passes when the conversation is in `state`; reads it through the update's cache.

    Use it instead of aiogram's `StateFilter`, which reads `raw_state`: the lazy FSM
    middleware never provides that, so a `StateFilter` would silently never match.
    """

    def __init__(self, state: State) -> None:
        self._state = state.state

    def __str__(self) -> str:
        return f"InState({self._state})"

    async def __call__(self, event: TelegramObject, state: FSMContext | None = None) -> bool:
        return state is not None and await state.get_state() == self._state
