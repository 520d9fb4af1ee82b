"""A burst of users larger than the executor's threads and the connection pool: every step
waits its turn and is answered, none is turned into an outage apology."""

import asyncio

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from tests.conftest import FailPoints
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest, isolation

pytestmark = MONGO_ONLY

USERS = 50
THREADS = 2
CALL_MS = 150
"""How long the server takes over every command the bot sends (a fail point holds each):
a step's own calls take under half a second, while the burst's take USERS × 3 × CALL_MS /
THREADS, eleven seconds, on any machine: most calls would wait for a thread longer
than the time budget (production's 3 s), were the burst not queued at the door. A small
burst: taking every update to the door costs the event loop next to nothing, even on a
loaded machine, so what is measured is the door, not the machine."""


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str, backend: str) -> Settings:
    """Few threads, and production's time budget: shorter than the burst's storage work."""
    return Settings(
        _env_file=None,
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        event_isolation=isolation(backend),
        mongo_executor_threads=THREADS,
        flood_burst=10_000,
    )


async def test_a_burst_of_users_registering_queues_and_every_one_is_registered(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    users = range(1, USERS + 1)
    starts = [bot.feed(local_update(user, user, "/start")) for user in users]
    asked = await asyncio.gather(*starts)
    commands = ["find", "insert", "update", "findAndModify"]
    fail_points.fail(commands, times=0, blockConnection=True, blockTimeMS=CALL_MS)

    names = [bot.feed(local_update(USERS + user, user, f"User {user}")) for user in users]
    answered = await asyncio.gather(*names)

    fail_points.off()
    assert asked == [[texts.ask_name()]] * USERS
    assert answered == [[texts.registered(f"User {user}")] for user in users]
    assert sorted(u["telegram_id"] for u in bot.stored_users()) == list(users)
