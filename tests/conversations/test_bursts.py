"""A burst of users larger than the executor's threads and the connection pool: every step
waits its turn and is answered, none is turned into an outage apology."""

import asyncio

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest, isolation

pytestmark = MONGO_ONLY

USERS = 400
THREADS = 4


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str, backend: str) -> Settings:
    """Few threads and a short budget per call: without queueing at the door, the calls of
    a burst would wait for a thread longer than their budget."""
    return Settings(
        _env_file=None,
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        event_isolation=isolation(backend),
        mongo_executor_threads=THREADS,
        mongo_operation_timeout_ms=500,
        flood_burst=10_000,
    )


async def test_a_burst_of_users_registering_queues_and_every_one_is_registered(
    bot: BotUnderTest,
) -> None:
    users = range(1, USERS + 1)

    starts = [bot.feed(local_update(user, user, "/start")) for user in users]
    asked = await asyncio.gather(*starts)
    names = [bot.feed(local_update(USERS + user, user, f"User {user}")) for user in users]
    answered = await asyncio.gather(*names)

    assert asked == [[texts.ask_name()]] * USERS
    assert answered == [[texts.registered(f"User {user}")] for user in users]
    assert sorted(u["telegram_id"] for u in bot.stored_users()) == list(users)
