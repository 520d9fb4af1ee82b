"""A burst of users larger than the executor's threads and the connection pool: every step
waits its turn and is answered, none is turned into an outage apology."""

import asyncio
from collections.abc import Iterator

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from tests.conftest import FailPoints
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest, isolation

pytestmark = MONGO_ONLY

USERS = 150
THREADS = 4
CALL_MS = 50
"""How long the server takes over every command the bot sends (a fail point holds each):
a step's few calls take about 0.15 s, while the whole burst's take USERS × 3 × CALL_MS /
THREADS, over five seconds, on any machine: even the first call of each, a lease or a read,
would wait almost two seconds for a thread."""
BUDGET_MS = 1500
"""A step's time budget: ten times what its own calls take, so a loaded machine's slower
event loop fits in it too, and less than what the burst's calls take, so that calls waiting
for a thread behind the whole burst, rather than at the door, would run out of it."""


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str, backend: str) -> Settings:
    """Few threads and a budget shorter than the burst's storage work."""
    return Settings(
        _env_file=None,
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        event_isolation=isolation(backend),
        mongo_executor_threads=THREADS,
        mongo_operation_timeout_ms=BUDGET_MS,
        flood_burst=10_000,
    )


@pytest.fixture
def slow_server(fail_points: FailPoints) -> Iterator[None]:
    commands = ["find", "insert", "update", "findAndModify"]
    fail_points.fail(commands, times=0, blockConnection=True, blockTimeMS=CALL_MS)
    yield
    fail_points.off()


async def test_a_burst_of_users_registering_queues_and_every_one_is_registered(
    bot: BotUnderTest, slow_server: None
) -> None:
    users = range(1, USERS + 1)

    starts = [bot.feed(local_update(user, user, "/start")) for user in users]
    asked = await asyncio.gather(*starts)
    names = [bot.feed(local_update(USERS + user, user, f"User {user}")) for user in users]
    answered = await asyncio.gather(*names)

    assert asked == [[texts.ask_name()]] * USERS
    assert answered == [[texts.registered(f"User {user}")] for user in users]
    assert sorted(u["telegram_id"] for u in bot.stored_users()) == list(users)
