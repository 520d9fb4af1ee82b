"""Filters shared by the routers. All async: aiogram runs sync filters in a thread pool."""

from typing import Any

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message


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
