"""What taking a conversation's lease says about its last release (`free_since_ms`), which
decides whether a profile read sent before the lease was held can be trusted."""

import asyncio
from datetime import timedelta

import pytest
from aiogram.fsm.storage.base import StorageKey
from pymongo.database import Database

from infrastructure.clock import utc_now
from infrastructure.conversation.errors import ConversationLost
from infrastructure.conversation.lease import MongoConversationLeases
from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

pytestmark = pytest.mark.mongo
KEY = StorageKey(bot_id=42, chat_id=7, user_id=7)


@pytest.fixture
def leases(database: Database[Document], executor: MongoExecutor) -> MongoConversationLeases:
    storage = MongoFSMStorage(database, executor, ttl=timedelta(hours=1), clock=utc_now)
    return MongoConversationLeases(
        storage, lease_seconds=10, wait_seconds=5, operation_timeout_seconds=2
    )


async def test_a_conversation_nobody_held_was_free_since_ever(
    leases: MongoConversationLeases,
) -> None:
    async with leases.hold(KEY, 1) as held:
        assert held.free_since_ms == 0


async def test_a_released_lease_says_when_it_was_let_go_on_the_servers_clock(
    leases: MongoConversationLeases,
) -> None:
    async with leases.hold(KEY, 1) as first:
        pass
    await asyncio.sleep(0.5)

    async with leases.hold(KEY, 2) as second:
        assert second.free_since_ms is not None
        # Let go after it was taken, before the next was; and the clock slack added.
        assert first.server_now_ms + 250 <= second.free_since_ms <= second.server_now_ms


async def test_a_write_since_the_last_release_makes_it_unknown(
    leases: MongoConversationLeases, database: Database[Document]
) -> None:
    """An older version's holder notes no release time; its write moves `expires_at`."""
    async with leases.hold(KEY, 1):
        pass
    database["fsm_states"].update_one({}, {"$set": {"expires_at": utc_now()}})

    async with leases.hold(KEY, 2) as held:
        assert held.free_since_ms is None


async def test_a_holder_that_never_let_go_makes_it_unknown(
    leases: MongoConversationLeases, database: Database[Document]
) -> None:
    async with leases.hold(KEY, 1):
        pass
    ran_out = {"lease_token": "a holder that died", "lease_until_ms": 0}
    with pytest.raises(ConversationLost):  # as if killed holding it: the lease runs out
        async with leases.hold(KEY, 2):
            database["fsm_states"].update_one({}, {"$set": ran_out})

    async with leases.hold(KEY, 3) as held:
        assert held.free_since_ms is None
