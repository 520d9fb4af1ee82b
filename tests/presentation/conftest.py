"""Presentation code on its own: no MongoDB, no process, no network; seconds in all."""

from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Update

from presentation.entrypoints.terminal.chat import local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession


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
    """A private text message, as the terminal chat makes them."""
    return local_update(update_id, user_id, text)
