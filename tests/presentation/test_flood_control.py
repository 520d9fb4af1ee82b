from typing import Any

from aiogram.types import TelegramObject, Update

from presentation.telegram import texts
from presentation.telegram.middlewares.flood_control import PRUNE_AT, FloodControl
from tests.presentation.conftest import RecordingBot, private_update

ADA, BOB = 7, 8


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Passed:
    """The next handler: records which updates got through."""

    def __init__(self) -> None:
        self.update_ids: list[int] = []

    async def __call__(self, event: TelegramObject, data: dict[str, Any]) -> str:
        assert isinstance(event, Update)
        self.update_ids.append(event.update_id)
        return "handled"


async def send(
    flood: FloodControl, passed: Passed, bot: RecordingBot, update_id: int, user_id: int = ADA
) -> None:
    update = private_update(update_id, user_id)
    assert update.message is not None
    data = {"bot": bot.bot, "event_from_user": update.message.from_user}
    await flood(passed, update, data)


async def test_a_burst_passes_and_the_excess_is_dropped_with_one_warning(
    recording_bot: RecordingBot,
) -> None:
    flood, passed = FloodControl(burst=3, per_minute=60, clock=Clock()), Passed()

    for update_id in range(1, 7):
        await send(flood, passed, recording_bot, update_id)

    assert passed.update_ids == [1, 2, 3]
    assert recording_bot.texts() == [texts.slow_down()]


async def test_the_bucket_refills_at_the_sustained_rate(recording_bot: RecordingBot) -> None:
    clock = Clock()
    flood, passed = FloodControl(burst=2, per_minute=30, clock=clock), Passed()
    for update_id in (1, 2, 3):
        await send(flood, passed, recording_bot, update_id)

    clock.now += 1.5  # 30 a minute is one token every 2 s
    await send(flood, passed, recording_bot, 4)
    clock.now += 0.5
    await send(flood, passed, recording_bot, 5)

    assert passed.update_ids == [1, 2, 5]


async def test_a_new_flood_after_a_pause_is_warned_about_again(
    recording_bot: RecordingBot,
) -> None:
    clock = Clock()
    flood, passed = FloodControl(burst=1, per_minute=60, clock=clock), Passed()
    for update_id in (1, 2, 3):
        await send(flood, passed, recording_bot, update_id)
    clock.now += 1
    for update_id in (4, 5, 6):
        await send(flood, passed, recording_bot, update_id)

    assert passed.update_ids == [1, 4]
    assert recording_bot.texts() == [texts.slow_down(), texts.slow_down()]


async def test_one_users_flood_leaves_another_users_budget_alone(
    recording_bot: RecordingBot,
) -> None:
    flood, passed = FloodControl(burst=1, per_minute=1, clock=Clock()), Passed()

    await send(flood, passed, recording_bot, 1, ADA)
    await send(flood, passed, recording_bot, 2, ADA)
    await send(flood, passed, recording_bot, 3, BOB)

    assert passed.update_ids == [1, 3]


async def test_updates_without_a_user_are_not_limited(recording_bot: RecordingBot) -> None:
    flood, passed = FloodControl(burst=1, per_minute=1, clock=Clock()), Passed()

    for update_id in (1, 2, 3):
        await flood(passed, private_update(update_id, ADA), {"bot": recording_bot.bot})

    assert passed.update_ids == [1, 2, 3]


async def test_buckets_of_users_whose_budget_refilled_are_pruned(
    recording_bot: RecordingBot,
) -> None:
    clock = Clock()
    flood, passed = FloodControl(burst=2, per_minute=60, clock=clock), Passed()
    for user_id in range(1, PRUNE_AT + 1):
        await send(flood, passed, recording_bot, user_id, user_id)
    assert flood.users_tracked == PRUNE_AT

    clock.now += 1  # every bucket refilled: one update each cost one token a second ago
    await send(flood, passed, recording_bot, PRUNE_AT + 1, PRUNE_AT + 1)

    assert flood.users_tracked == 1
