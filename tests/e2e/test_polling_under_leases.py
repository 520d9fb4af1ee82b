"""`profilebot polling` with `EVENT_ISOLATION=mongo`, as standby pollers run: an update whose
user's conversation another process holds longer than `LOCK_WAIT_SECONDS` is neither lost nor
confirmed to Telegram; it is handled again until the conversation is free."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from dependency_injector import providers
from pymongo.database import Database

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.mongo_client import Document
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.telegram import texts
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001
BOT_ID = int(BOT_TOKEN.split(":", 1)[0])
GAVE_UP = "gave up waiting"
AGAIN = "handling it again"


HeldElsewhere = Callable[[], AbstractContextManager[None]]


@pytest.fixture
def held_by_another_process(mongo_server: EmbeddedMongo, db_name: str) -> HeldElsewhere:
    """Ada's conversation lease, taken the way another bot process takes it, and held until
    the block ends."""
    return lambda: _held(mongo_server, db_name)


@contextmanager
def _held(mongo_server: EmbeddedMongo, db_name: str) -> Iterator[None]:
    taken, let_go, failed = threading.Event(), threading.Event(), []

    async def hold() -> None:
        settings = Settings(
            _env_file=None, mongo_uri=mongo_server.uri, mongo_db=db_name, event_isolation="mongo"
        )
        container = Container(settings=settings)
        container.bot_token.override(providers.Object(BOT_TOKEN))
        await asyncio.to_thread(lifecycle.start, container)
        try:
            leases = container.storage.conversation_leases()
            async with leases.hold(StorageKey(bot_id=BOT_ID, chat_id=ADA, user_id=ADA)):
                taken.set()
                await asyncio.to_thread(let_go.wait, 300)
        finally:
            await asyncio.to_thread(lifecycle.stop, container)

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as error:
            failed.append(error)
            taken.set()

    holder = threading.Thread(target=run, daemon=True)
    holder.start()
    assert taken.wait(60), "the other process did not take the lease"
    assert not failed, failed
    try:
        yield
    finally:
        let_go.set()
        holder.join(60)
    assert not failed, failed


def test_a_message_whose_conversation_is_held_elsewhere_past_the_wait_is_answered_once_free(
    tmp_path: Path,
    env: dict[str, str],
    bot_api: FakeBotApi,
    database: Database[Document],
    held_by_another_process: HeldElsewhere,
) -> None:
    bot = BotProcess(tmp_path, env | {"EVENT_ISOLATION": "mongo", "LOCK_WAIT_SECONDS": "1"})
    try:
        bot_api.send_text(ADA, "/start")
        bot_api.wait_for_reply(ADA, texts.ask_name())

        with held_by_another_process():
            name_update = bot_api.send_text(ADA, "Ada")
            wait_until(lambda: AGAIN in bot.output(), 120, "the bot to try the update again")
            assert GAVE_UP in bot.output()
            assert texts.registered("Ada") not in bot_api.replies_to(ADA)
            offsets = [int(c.params.get("offset", 0)) for c in bot_api.calls_of("getUpdates")]
            assert max(offsets) <= name_update  # the name's update is not confirmed

        bot_api.wait_for_reply(ADA, texts.registered("Ada"))
        assert bot_api.replies_to(ADA).count(texts.registered("Ada")) == 1
        assert database["users"].count_documents({"telegram_id": ADA}) == 1
        assert "could not be handled" not in bot.output()
    finally:
        if bot.process.poll() is None:
            bot.kill()
