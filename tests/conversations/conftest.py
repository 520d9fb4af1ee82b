"""A bot wired exactly as in production (container, dispatcher, MongoDB-backed FSM), whose
Bot API calls are answered locally and recorded."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.enums import ChatType
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, PhotoSize, Update, User
from pymongo import monitoring
from pymongo.database import Database

from bench.command_log import CommandLog
from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.container import Container
from presentation.dispatcher import build_dispatcher
from presentation.lifecycle import prepare_storage
from presentation.local_session import LocalBotSession
from presentation.terminal_chat import local_update

BOT_TOKEN = "42:TEST-TOKEN"
ADA = 7

Document = dict[str, Any]


# Registered before any client exists: pymongo attaches global listeners at client creation.
COMMAND_LOG = CommandLog()
monitoring.register(COMMAND_LOG)


@dataclass
class BotUnderTest:
    dispatcher: Dispatcher
    bot: Bot
    container: Container
    database: Database[Document]
    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    _next_update_id: int = 0

    async def send(self, text: str, user_id: int = ADA) -> list[str]:
        """Send a private text message; the texts the bot answered with."""
        return await self.feed(local_update(self._update_id(), user_id, text))

    async def send_photo(self, user_id: int = ADA) -> list[str]:
        update = local_update(self._update_id(), user_id, "").model_copy(deep=True)
        assert update.message is not None
        photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
        message = update.message.model_copy(update={"text": None, "photo": photo})
        return await self.feed(update.model_copy(update={"message": message}))

    async def send_in_group(self, text: str, user_id: int = ADA) -> list[str]:
        message = Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=-100, type=ChatType.SUPERGROUP),
            from_user=User(id=user_id, is_bot=False, first_name="Ada"),
            text=text,
        )
        return await self.feed(Update(update_id=self._update_id(), message=message))

    async def round_trips(self, text: str, user_id: int = ADA) -> tuple[list[str], list[str]]:
        """Send a message; the replies, and the MongoDB commands it cost, in order."""
        already = len(COMMAND_LOG.commands)
        replies = await self.send(text, user_id)
        sent = COMMAND_LOG.commands[already:]
        return replies, [name for db, name in sent if db == self.database.name]

    async def feed(self, update: Update) -> list[str]:
        """Feed one update; the texts sent to its chat meanwhile (other users' are not)."""
        already = len(self.requests)
        await self.dispatcher.feed_update(self.bot, update)
        chat = update.message.chat.id if update.message else None
        return [
            r.text
            for r in self.requests[already:]
            if isinstance(r, SendMessage) and chat in (None, r.chat_id)
        ]

    def storage_key(self, user_id: int = ADA) -> StorageKey:
        return StorageKey(bot_id=self.bot.id, chat_id=user_id, user_id=user_id)

    async def state_of(self, user_id: int = ADA) -> str | None:
        return await self.dispatcher.storage.get_state(self.storage_key(user_id))

    def stored_users(self) -> list[Document]:
        return list(self.database["users"].find({}, {"_id": False}))

    def _update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str) -> Settings:
    return Settings(
        _env_file=None,  # never a developer's .env
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        mongo_operation_timeout_ms=1000,
        flood_burst=10_000,  # a test script types faster than any person; see test_flood_control
    )


@pytest.fixture
async def bot(settings: Settings, database: Database[Document]) -> AsyncIterator[BotUnderTest]:
    container = Container(settings=settings)
    container.mongo_executor()
    await prepare_storage(container)
    under_test = BotUnderTest(
        dispatcher=build_dispatcher(container.fsm_storage(), settings),
        bot=Bot(BOT_TOKEN),
        container=container,
        database=database,
    )
    under_test.bot.session = LocalBotSession(under_test.requests.append)
    yield under_test
    container.shutdown_resources()
    container.unwire()
