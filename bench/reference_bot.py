"""The reference bots `make bench` compares ours with: the same conversation (register, see,
rename, cancel, help) written the plain aiogram 3 way, with aiogram's own FSM, on one of
three storages:

- `seed`: the seed answer's design. Its `MongoManager` runs each sync pymongo call through
  `asyncio.to_thread` (the loop's default executor: `min(32, cpus + 4)` threads). The seed
  kept the FSM in `MemoryStorage`, which loses every conversation at a restart; here the
  FSM state goes through the same `to_thread` pattern into MongoDB, as the bot must keep
  it, with exactly the commands aiogram's `PyMongoStorage` sends.
- `async`: the yardstick: pymongo's `AsyncMongoClient` with aiogram's own `PyMongoStorage`.
- `bare` (in-process only, for the CPU comparison): aiogram's `MemoryStorage` and a dict.

So `seed` and `async` send the same commands and differ only in how they wait for them.
Run as a process: `python -m bench.reference_bot seed|async`, configured by BOT_TOKEN,
TELEGRAM_API_URL, MONGO_URI and MONGO_DB.
"""

import asyncio
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.fsm.storage.pymongo import PyMongoStorage
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from pymongo import AsyncMongoClient, MongoClient

from domain.user_name import InvalidUserName, UserName

DESIGNS = ("seed", "async")
"""The reference bots that run as processes against MongoDB."""
NAMES = {
    "ours": "ours",
    "seed": "seed design (to_thread)",
    "async": "AsyncMongoClient + PyMongoStorage",
    "bare": "bare aiogram + MemoryStorage",
}
Document = dict[str, Any]


class Users(Protocol):
    """The few collection methods the handlers use, awaited whatever the driver."""

    async def find_one(self, query: Mapping[str, Any]) -> Document | None: ...
    async def insert_one(self, document: Document) -> Any: ...
    async def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any]) -> Any: ...


class Registration(StatesGroup):
    waiting_for_name = State()


class Renaming(StatesGroup):
    waiting_for_name = State()


NO_KEYBOARD = ReplyKeyboardRemove()


def name_keyboard(message: Message) -> ReplyKeyboardMarkup:
    offered = message.from_user.first_name if message.from_user else "me"
    rows = [[KeyboardButton(text=offered)], [KeyboardButton(text="Cancel")]]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True)


def user_id(message: Message) -> int:
    return message.from_user.id if message.from_user else message.chat.id


async def start(message: Message, state: FSMContext, users: Users) -> None:
    profile = await users.find_one({"telegram_id": user_id(message)})
    if profile is None:
        await state.set_state(Registration.waiting_for_name)
        await message.answer(
            "Welcome! What should I call you? Send me your name.",
            reply_markup=name_keyboard(message),
        )
        return
    await message.answer(f"You're already registered as {profile['name']}.")


async def name_received(message: Message, state: FSMContext, users: Users) -> None:
    try:
        name = UserName(message.text or "")
    except InvalidUserName as error:
        await message.answer(f"That name won't do ({error.problem.value}). Try another.")
        return
    now = dt.datetime.now(dt.UTC)
    document = {"telegram_id": user_id(message), "name": name.value}
    await users.insert_one(document | {"created_at": now, "updated_at": now})
    await state.clear()
    await message.answer(
        f"Nice to meet you, {name}! You're registered. Send /me to see your profile.",
        reply_markup=NO_KEYBOARD,
    )


async def me(message: Message, users: Users) -> None:
    profile = await users.find_one({"telegram_id": user_id(message)})
    if profile is None:
        await message.answer("You're not registered yet. Send /start to register.")
        return
    since = profile["created_at"]
    await message.answer(f"Name: {profile['name']}\nRegistered: {since:%d %B %Y, %H:%M} UTC")


async def rename(message: Message, state: FSMContext, users: Users) -> None:
    profile = await users.find_one({"telegram_id": user_id(message)})
    if profile is None:
        await message.answer("You're not registered yet. Send /start to register.")
        return
    await state.set_state(Renaming.waiting_for_name)
    await message.answer("What should I call you now?", reply_markup=name_keyboard(message))


async def new_name_received(message: Message, state: FSMContext, users: Users) -> None:
    try:
        name = UserName(message.text or "")
    except InvalidUserName as error:
        await message.answer(f"That name won't do ({error.problem.value}). Try another.")
        return
    changes = {"name": name.value, "updated_at": dt.datetime.now(dt.UTC)}
    await users.update_one({"telegram_id": user_id(message)}, {"$set": changes})
    await state.clear()
    await message.answer(f"Done: you're {name} now.", reply_markup=NO_KEYBOARD)


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer("Nothing to cancel.", reply_markup=NO_KEYBOARD)
        return
    await state.clear()
    await message.answer("Cancelled.", reply_markup=NO_KEYBOARD)


async def help_command(message: Message) -> None:
    await message.answer(
        "I keep a small profile for you: a name and the date you registered.\n\n"
        "/start - register\n/me - your profile\n/rename - change your name\n"
        "/cancel - stop what you're doing\n/help - this message"
    )


async def unrecognised(message: Message) -> None:
    await message.answer("I didn't understand that. Send /help to see what I can do.")


def router() -> Router:
    routes = Router(name="reference")
    routes.message.register(help_command, Command("help"))
    routes.message.register(cancel, Command("cancel"))
    routes.message.register(cancel, F.text == "Cancel")
    routes.message.register(start, CommandStart())
    routes.message.register(me, Command("me"))
    routes.message.register(rename, Command("rename"))
    routes.message.register(name_received, Registration.waiting_for_name, F.text)
    routes.message.register(new_name_received, Renaming.waiting_for_name, F.text)
    routes.message.register(unrecognised)
    return routes


def dispatcher(storage: BaseStorage, users: Users) -> Dispatcher:
    """The reference dispatcher: one user's updates in order, as ours keeps them."""
    built = Dispatcher(storage=storage, events_isolation=SimpleEventIsolation())
    built.include_router(router())
    built["users"] = users
    return built


class MemoryUsers:
    """The `bare` design's users: a dict."""

    def __init__(self) -> None:
        self.by_id: dict[int, Document] = {}

    async def find_one(self, query: Mapping[str, Any]) -> Document | None:
        return self.by_id.get(query["telegram_id"])

    async def insert_one(self, document: Document) -> None:
        if document["telegram_id"] in self.by_id:
            raise KeyError(document["telegram_id"])
        self.by_id[document["telegram_id"]] = dict(document)

    async def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        if (found := self.by_id.get(query["telegram_id"])) is not None:
            found.update(update["$set"])


def bare_dispatcher() -> Dispatcher:
    return dispatcher(MemoryStorage(), MemoryUsers())


class ToThread:
    """The seed's `MongoManager` pattern for any object: each method call runs in
    `asyncio.to_thread`. Indexing wraps too (`client[db][collection]`)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getitem__(self, name: str) -> "ToThread":
        return ToThread(self._target[name])

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._target, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call


def storages(design: str, uri: str, database: str) -> tuple[BaseStorage, Users, Any]:
    """The FSM storage, the users collection and the client to close, for `design`."""
    client: Any
    if design == "seed":
        client = ToThread(MongoClient(uri, tz_aware=True))
    elif design == "async":
        client = AsyncMongoClient(uri, tz_aware=True)
    else:
        raise ValueError(f"unknown design {design!r}; one of {', '.join(DESIGNS)}")
    storage = PyMongoStorage(
        cast(AsyncMongoClient[Any], client),
        key_builder=DefaultKeyBuilder(),
        db_name=database,
        collection_name="fsm_states",
    )
    return storage, cast(Users, client[database]["users"]), client


async def serve(design: str) -> None:
    env = os.environ
    storage, users, client = storages(design, env["MONGO_URI"], env["MONGO_DB"])
    await client[env["MONGO_DB"]]["users"].create_index("telegram_id", unique=True)
    session = AiohttpSession(api=TelegramAPIServer.from_base(env["TELEGRAM_API_URL"]))
    bot = Bot(env["BOT_TOKEN"], session=session)
    # Polling stops on SIGTERM; PyMongoStorage closes the client when the dispatcher stops.
    await dispatcher(storage, users).start_polling(bot)


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in DESIGNS:
        print(f"usage: python -m bench.reference_bot {'|'.join(DESIGNS)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve(sys.argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
