"""Presentation code on its own: no MongoDB, no process, no network; seconds in all."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User

from presentation.entrypoints.local_session import LocalBotSession


class RecordingBot:
    """A `Bot` whose requests are answered in-process and kept in `requests`."""

    def __init__(self) -> None:
        self.requests: list[TelegramMethod[Any]] = []
        self.bot = Bot("42:TEST-TOKEN", session=LocalBotSession(self.requests.append))

    def texts(self) -> list[str]:
        return [r.text for r in self.requests if isinstance(r, SendMessage)]


@pytest.fixture
def recording_bot() -> RecordingBot:
    return RecordingBot()


def private_update(update_id: int, user_id: int, text: str = "hi") -> Update:
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type=ChatType.PRIVATE),
            from_user=User(id=user_id, is_bot=False, first_name="Ada"),
            text=text,
        ),
    )
