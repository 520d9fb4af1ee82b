from typing import Any

from aiogram.types import TelegramObject, Update

from presentation.telegram.conversation.duplicate_updates import DuplicateUpdates
from presentation.telegram.middlewares.update_log import TRACE_KEY, UpdateTrace
from tests.presentation.conftest import private_update


class Passed:
    def __init__(self) -> None:
        self.update_ids: list[int] = []

    async def __call__(self, event: TelegramObject, data: dict[str, Any]) -> None:
        assert isinstance(event, Update)
        self.update_ids.append(event.update_id)


async def feed(duplicates: DuplicateUpdates, passed: Passed, *update_ids: int) -> None:
    for update_id in update_ids:
        await duplicates(passed, private_update(update_id, 7), {})


async def test_an_update_seen_before_is_dropped_and_traced_as_a_duplicate() -> None:
    duplicates, passed = DuplicateUpdates(), Passed()
    trace = UpdateTrace()

    await feed(duplicates, passed, 1)
    await duplicates(passed, private_update(1, 7), {TRACE_KEY: trace})

    assert passed.update_ids == [1]
    assert trace.outcome == "duplicate"


async def test_at_capacity_the_oldest_ids_are_forgotten_and_recent_ones_still_dropped() -> None:
    duplicates, passed = DuplicateUpdates(capacity=3), Passed()

    await feed(duplicates, passed, 1, 2, 3, 4)  # 1 falls out of memory
    await feed(duplicates, passed, 2, 3, 4, 1)

    assert passed.update_ids == [1, 2, 3, 4, 1]
