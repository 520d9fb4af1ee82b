"""RECENT_USERS_KEPT bounds what a polling process in one process's mode remembers about
recent users: the conversations it wrote and the update ids it saw."""

import pytest

from infrastructure.settings import Settings
from presentation.telegram.conversation.duplicate_updates import DuplicateUpdates
from tests.conversations.conftest import BotUnderTest

KEPT = 3

pytestmark = [pytest.mark.mongo, pytest.mark.parametrize("backend", ["mongo"], indirect=True)]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"recent_users_kept": KEPT})


async def test_a_poller_remembers_at_most_recent_users_kept_users(bot: BotUnderTest) -> None:
    for user_id in range(100, 108):
        await bot.send("/start", user_id)
        await bot.send(f"User {user_id}", user_id)

    remembered = bot.container.storage.remembered()
    [duplicates] = [
        m for m in bot.dispatcher.update.outer_middleware if isinstance(m, DuplicateUpdates)
    ]
    assert remembered is not None  # a poller in one process's mode remembers
    assert (len(remembered), len(duplicates)) == (KEPT, KEPT)
