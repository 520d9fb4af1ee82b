"""The bot wired by the real container and dispatcher, its Bot API calls answered locally and
recorded, on one of two storages:

- `memory`: the use-case fake and aiogram's `MemoryStorage`, swapped in for the whole
  MongoDB storage. No database process: the fast tier (`pytest -m "not mongo"`).
- `mongo`: production's adapters on the test session's MongoDB server, one process's way
  (`EVENT_ISOLATION=local`);
- `leased`: the same, the way several processes share users (`EVENT_ISOLATION=mongo`):
  every update holds its conversation's lease.

A module whose tests only make sense on MongoDB overrides the `backend` fixture.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramNetworkError
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    Chat,
    InlineKeyboardButton,
    Message,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from dependency_injector import containers, providers
from pymongo import monitoring
from pymongo.database import Database

from application.personal_data import StoredRecord
from domain.user import User as DomainUser
from domain.user import UserId
from domain.user_name import UserName
from infrastructure.mongo_client import Document
from infrastructure.mongo_user_repository import user_document
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import local_button_press, local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession
from tests.conversations.critical_path import CountedRounds, RoundLog, in_rounds
from tests.unit.fakes import InMemoryPersonalData, InMemoryUserRepository

BOT_TOKEN = "42:TEST-TOKEN"
ADA = 7

MONGO_BACKENDS = ["mongo", "leased"]
MONGO_ONLY = [
    pytest.mark.mongo,
    pytest.mark.parametrize("backend", MONGO_BACKENDS, indirect=True),
]
"""`pytestmark` of a module whose tests are about MongoDB itself."""
ONE_PROCESS_MONGO = [
    pytest.mark.mongo,
    pytest.mark.parametrize("backend", ["mongo"], indirect=True),
]
"""`pytestmark` of a module pinning how one process (`EVENT_ISOLATION=local`) uses MongoDB;
what leases change is in test_leases."""


def isolation(backend: str) -> str:
    return "mongo" if backend == "leased" else "local"


# Registered before any client exists: pymongo attaches global listeners at client creation.
COMMAND_LOG = RoundLog()
monitoring.register(COMMAND_LOG)


class ProcessDied(BaseException):
    """Stands for a kill -9: nothing after it runs, no handler catches it."""


async def _always_answers() -> None:
    """An in-memory store is always there."""


class MemoryConversations:
    """A user's conversations in aiogram's `MemoryStorage`, as the records `/mydata` shows
    (named as the MongoDB adapter names them)."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._keys = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    def __call__(self, user_id: int) -> list[StoredRecord]:
        return [
            StoredRecord(
                kept_in="fsm_states",
                fields={"_id": self._keys.build(key), "state": kept.state, "data": kept.data},
            )
            for key, kept in list(self._storage.storage.items())
            if key.user_id == user_id and (kept.state is not None or kept.data)
        ]


class InMemoryStorage(containers.DeclarativeContainer):
    """What the container's `storage` provides, with nothing to start."""

    user_repository = providers.Singleton(InMemoryUserRepository)
    fsm_storage = providers.Singleton(MemoryStorage)
    personal_data = providers.Singleton(
        InMemoryPersonalData,
        users=user_repository,
        others=providers.Factory(MemoryConversations, storage=fsm_storage),
    )
    ready: providers.Object[None] = providers.Object(None)
    ping: providers.Object[Callable[[], Awaitable[None]]] = providers.Object(_always_answers)


class Records(Protocol):
    """What a test may see and change behind the bot's back, on either storage."""

    def users(self) -> list[Document]: ...
    def put_user(self, user_id: int, name: str) -> None: ...
    def delete_users(self) -> None: ...
    def conversations(self) -> int: ...


class MongoRecords:
    def __init__(self, database: Database[Document]) -> None:
        self.database = database

    def users(self) -> list[Document]:
        """Profiles (not the record a deletion leaves, which has no name)."""
        return list(self.database["users"].find({"name": {"$exists": True}}, {"_id": False}))

    def put_user(self, user_id: int, name: str) -> None:
        self.database["users"].insert_one(user_document(_registered(user_id, name)))

    def delete_users(self) -> None:
        self.database["users"].delete_many({})

    def conversations(self) -> int:
        """Conversations in progress (a finished one's document lives on, empty, for the
        record of handled updates)."""
        in_progress = {"$or": [{"state": {"$ne": None}}, {"data": {"$nin": ["{}", None]}}]}
        return self.database["fsm_states"].count_documents(in_progress)


class MemoryRecords:
    def __init__(self, users: InMemoryUserRepository, conversations: MemoryStorage) -> None:
        self._users = users
        self._conversations = conversations

    def users(self) -> list[Document]:
        return [user_document(user) for user in self._users.users.values()]

    def put_user(self, user_id: int, name: str) -> None:
        user = _registered(user_id, name)
        self._users.users[user.id] = user

    def delete_users(self) -> None:
        self._users.users.clear()

    def conversations(self) -> int:
        records = self._conversations.storage.values()
        return sum(1 for record in records if record.state is not None or record.data)


ADA_ON_TELEGRAM = User(id=ADA, is_bot=False, first_name="Ada", last_name="Lovelace")
"""Who Telegram says the test's user is: the name offered on the name keyboard."""


class NoSuchButton(AssertionError):
    pass


@dataclass
class BotUnderTest:
    dispatcher: Dispatcher
    bot: Bot
    container: Container
    records: Records
    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    """Every message the bot sent, as Telegram answered: with its id and inline buttons."""
    fed: list[Update] = field(default_factory=list)
    _next_update_id: int = 0

    async def send(self, text: str, user_id: int = ADA, sender: User | None = None) -> list[str]:
        """Send a private text message; the texts the bot answered with."""
        if sender is None and user_id == ADA:
            sender = ADA_ON_TELEGRAM
        return await self.feed(local_update(self._update_id(), user_id, text, sender))

    async def tap(self, label: str, user_id: int = ADA) -> list[str]:
        """Tap a button of the keyboard the user has now: it sends its label."""
        labels = self.keyboard(user_id)
        if label not in labels:
            raise NoSuchButton(f"{label!r} is not on the keyboard {labels}")
        return await self.send(label, user_id)

    def keyboard(self, user_id: int = ADA) -> list[str]:
        """The labels of the reply keyboard `user_id` has now (the last one sent, unless a
        later message took it away)."""
        for request in reversed(self.requests):
            if isinstance(request, SendMessage) and request.chat_id == user_id:
                markup = request.reply_markup
                if isinstance(markup, ReplyKeyboardMarkup):
                    return [button.text for row in markup.keyboard for button in row]
                if isinstance(markup, ReplyKeyboardRemove):
                    return []
        return []

    def buttons(self, user_id: int = ADA) -> list[str]:
        """The inline buttons under the last message sent to `user_id`."""
        messages = [m for m in self.sent if m.chat.id == user_id]
        return [button.text for button in _inline_buttons(messages[-1])] if messages else []

    async def press(
        self, label: str, user_id: int = ADA, on: Message | None = None, data: str | None = None
    ) -> list[str]:
        """Press the button `label` under `on` (by default the latest message to `user_id`
        that has one), sending its callback data, or `data` instead (forged); the texts the
        bot answered with."""
        return await self.feed(self.press_update(label, user_id, on, data))

    def press_update(
        self,
        label: str,
        user_id: int = ADA,
        on: Message | None = None,
        data: str | None = None,
        sender: User | None = None,
    ) -> Update:
        """The update a press of `label` delivers (see `press`)."""
        message = on or self.latest_with_button(label, user_id)
        found = [b for b in _inline_buttons(message) if b.text == label]
        if not found:
            raise NoSuchButton(f"{label!r} is not under message {message.message_id}")
        button = found[0]
        return local_button_press(
            self._update_id(),
            user_id,
            message,
            data if data is not None else str(button.callback_data),
            sender=sender or (ADA_ON_TELEGRAM if user_id == ADA else None),
        )

    def latest_with_button(self, label: str, user_id: int = ADA) -> Message:
        for message in reversed(self.sent):
            if message.chat.id == user_id and label in [b.text for b in _inline_buttons(message)]:
                return message
        raise NoSuchButton(f"no message to {user_id} has a {label!r} button")

    def callback_answers(self) -> list[AnswerCallbackQuery]:
        return [r for r in self.requests if isinstance(r, AnswerCallbackQuery)]

    def retired(self) -> list[int]:
        """The ids of the messages whose buttons the bot took off, in order."""
        return [
            int(r.message_id or 0) for r in self.requests if isinstance(r, EditMessageReplyMarkup)
        ]

    async def send_photo(self, user_id: int = ADA) -> list[str]:
        update = local_update(self._update_id(), user_id, "").model_copy(deep=True)
        assert update.message is not None
        photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
        message = update.message.model_copy(update={"text": None, "photo": photo})
        return await self.feed(update.model_copy(update={"message": message}))

    async def send_in_group(self, text: str, user_id: int = ADA) -> list[str]:
        return await self.feed(self.group_update(text, user_id))

    def group_update(self, text: str, user_id: int = ADA) -> Update:
        """A message `user_id` posts in a group the bot is in."""
        message = Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=-100, type=ChatType.SUPERGROUP),
            from_user=User(id=user_id, is_bot=False, first_name="Ada"),
            text=text,
        )
        return Update(update_id=self._update_id(), message=message)

    async def round_trips(self, text: str, user_id: int = ADA) -> tuple[list[str], list[str]]:
        """Send a message; the replies, and the MongoDB commands it cost, in order."""
        sender = ADA_ON_TELEGRAM if user_id == ADA else None
        return await self.feed_counting(local_update(self._update_id(), user_id, text, sender))

    async def feed_counting(self, update: Update) -> tuple[list[str], list[str]]:
        """Feed one update; the replies, and the MongoDB commands it cost, in order."""
        assert isinstance(self.records, MongoRecords), "round trips are counted on MongoDB"
        already = len(COMMAND_LOG.commands)
        replies = await self.feed(update)
        sent = COMMAND_LOG.commands[already:]
        return replies, [name for db, name in sent if db == self.records.database.name]

    async def rounds(self, text: str, user_id: int = ADA) -> tuple[list[str], list[str]]:
        """Send a message; the replies, and its sequential round trips, each as its
        commands joined by `+` (`critical_path.in_rounds`)."""
        sender = ADA_ON_TELEGRAM if user_id == ADA else None
        return await self.feed_rounds(local_update(self._update_id(), user_id, text, sender))

    async def feed_rounds(self, update: Update) -> tuple[list[str], list[str]]:
        """Feed one update; the replies, and its sequential round trips."""
        assert isinstance(self.records, MongoRecords), "round trips are counted on MongoDB"
        already = len(COMMAND_LOG.commands)
        replies = await self.feed(update)
        sent = zip(COMMAND_LOG.commands[already:], COMMAND_LOG.rounds[already:], strict=True)
        ours = [(name, n) for (db, name), n in sent if db == self.records.database.name]
        return replies, in_rounds(ours)

    async def feed(self, update: Update) -> list[str]:
        """Feed one update; the texts sent to its chat meanwhile (other users' are not): a
        message's text, a document's caption."""
        already = len(self.requests)
        self.fed.append(update)
        await self.dispatcher.feed_update(self.bot, update)
        pressed = update.callback_query.message if update.callback_query else None
        chat = update.message.chat.id if update.message else pressed.chat.id if pressed else None
        return [
            r.text if isinstance(r, SendMessage) else r.caption or ""
            for r in self.requests[already:]
            if isinstance(r, SendMessage | SendDocument) and chat in (None, r.chat_id)
        ]

    def documents(self, user_id: int = ADA) -> list[tuple[str, bytes]]:
        """The files sent to `user_id`, oldest first: each one's name and content."""
        return [
            (r.document.filename or "", r.document.data)
            for r in self.requests
            if isinstance(r, SendDocument)
            and r.chat_id == user_id
            and isinstance(r.document, BufferedInputFile)
        ]

    def exported(self, user_id: int = ADA) -> dict[str, Any]:
        """The JSON document of the last file sent to `user_id`."""
        _name, content = self.documents(user_id)[-1]
        document = json.loads(content)
        assert isinstance(document, dict)
        return document

    def stored_users(self) -> list[Document]:
        return self.records.users()

    def storage_key(self, user_id: int = ADA) -> StorageKey:
        return StorageKey(bot_id=self.bot.id, chat_id=user_id, user_id=user_id)

    async def state_of(self, user_id: int = ADA) -> str | None:
        return await self.dispatcher.storage.get_state(self.storage_key(user_id))

    def _update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id


class RefusedReplies(LocalBotSession):
    """The Bot API refuses the next `failures` messages with `error` (a reply, then the
    apology after it), then answers again."""

    def __init__(self, requests: list[TelegramMethod[Any]], failures: int, error: type) -> None:
        super().__init__(requests.append)
        self.failures = failures
        self._error = error

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if isinstance(method, SendMessage) and self.failures:
            self.failures -= 1
            raise self._error(method=method, message="refused")
        return await super().make_request(bot, method, timeout)


def refuse_replies(
    bot: BotUnderTest, failures: int = 2, error: type = TelegramNetworkError
) -> None:
    bot.bot.session = RefusedReplies(bot.requests, failures, error)


def fed_directly(settings: Settings, session: BaseSession) -> Container:
    """The container of a bot whose updates the test feeds to its dispatcher itself,
    answered by `session`. A failed update is the test's to see, as a webhook's would be:
    polling's own retry of failed updates is tested with polling."""
    container = Container(settings=settings)
    container.bot_token.override(providers.Object(BOT_TOKEN))
    container.bot_session.override(providers.Object(session))
    container.retry_failed.override(providers.Object(None))
    return container


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("mongo", marks=pytest.mark.mongo),
        pytest.param("leased", marks=pytest.mark.mongo),
    ],
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    storage: dict[str, Any] = {}
    if backend in MONGO_BACKENDS:
        server = request.getfixturevalue("mongo_server")
        storage = {
            "mongo_uri": server.uri,
            "mongo_db": request.getfixturevalue("db_name"),
            "event_isolation": isolation(backend),
        }
    return Settings(
        _env_file=None,  # never a developer's .env
        # Production's default. Every step's storage work must fit in it, on a loaded CI
        # machine too (one slow call is an apology, and a lease not taken in it sends a
        # step on without its conversation); tests of the budget itself set their own.
        mongo_operation_timeout_ms=3000,
        flood_burst=10_000,  # a test script types faster than any person; see test_flood_control
        **storage,
    )


@pytest.fixture
async def bot(
    backend: str, settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[BotUnderTest]:
    requests: list[TelegramMethod[Any]] = []
    sent: list[Message] = []
    container = fed_directly(settings, LocalBotSession(requests.append, on_sent=sent.append))
    if backend == "memory":
        container.storage.override(InMemoryStorage())
    await asyncio.to_thread(lifecycle.start, container)
    records: Records
    if backend == "memory":
        storage = container.storage
        records = MemoryRecords(storage.user_repository(), storage.fsm_storage())
    else:
        records = MongoRecords(request.getfixturevalue("database"))
        CountedRounds().install(container.storage.executor())
    yield BotUnderTest(
        dispatcher=container.dispatcher(),
        bot=container.bot(),
        container=container,
        records=records,
        requests=requests,
        sent=sent,
    )
    await asyncio.to_thread(lifecycle.stop, container)


@dataclass
class Restarted:
    """A second bot process on the same database, with none of the first one's memory."""

    dispatcher: Dispatcher
    bot: Bot
    requests: list[TelegramMethod[Any]]

    async def __call__(self, update: Update) -> list[str]:
        """Feed `update`; the texts sent meanwhile."""
        already = len(self.requests)
        await self.dispatcher.feed_update(self.bot, update)
        return [r.text for r in self.requests[already:] if isinstance(r, SendMessage)]


@pytest.fixture
async def restarted(settings: Settings) -> AsyncIterator[Restarted]:
    """(Wiring is per module, so from here on both bots' handlers take their use cases from
    this container; they share the database, so they behave the same.)"""
    requests: list[TelegramMethod[Any]] = []
    container = fed_directly(settings, LocalBotSession(requests.append))
    await asyncio.to_thread(lifecycle.start, container)
    yield Restarted(container.dispatcher(), container.bot(), requests)
    await asyncio.to_thread(lifecycle.stop, container)


def _inline_buttons(message: Message) -> list[InlineKeyboardButton]:
    markup = message.reply_markup
    return [b for row in markup.inline_keyboard for b in row] if markup is not None else []


def _registered(user_id: int, name: str) -> DomainUser:
    """A user registered just now, as a test puts them behind the bot's back."""
    return DomainUser.register(UserId(user_id), UserName(name), _now())


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
