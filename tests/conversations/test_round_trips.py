"""MongoDB round trips per conversation step, counted with pymongo's command monitoring.

A count is deterministic, so unlike a speed target it may be a test. Budgets, one process
(`EVENT_ISOLATION=local`): /help 0, /me ≤ 2, every other step ≤ 3. The exact counts pin what
each step does; a step that changes the conversation writes it once, after its replies,
recording the update as handled.

Under leases (`EVENT_ISOLATION=mongo`) every step takes its conversation's lease, which is
also the read of the state, the handled updates and the flood bucket (`findAndModify`), and
lets it go in the one write that stores the step (`update`): every step ≤ 3, lock and
duplicate check included, and every update is recorded, read-only ones too.
"""

import pytest

from tests.conversations.conftest import BotUnderTest

pytestmark = pytest.mark.mongo

LOCAL = [
    # (message, expected commands)
    ("/help", []),
    ("/me", ["find", "find"]),  # profile (none) + state for the reminder
    ("/start", ["find", "find", "update"]),  # profile (none) + not handled before? + ask
    ("Ada", ["find", "insert", "update"]),  # state + register + end conversation, recorded
    ("/me", ["find", "find"]),  # profile + state for the reminder
    ("/start", ["find", "find"]),  # profile + state for the reminder
    ("/rename", ["find", "find", "update"]),  # profile + not handled before? + ask
    ("/x", ["find"]),  # not a name: the state is read once for both conversation routers
    ("Grace", ["find", "findAndModify", "update"]),  # state + rename + end, recorded
    ("/rename", ["find", "find", "update"]),
    ("/cancel", ["find", "update"]),
    ("/forget", ["find", "find", "update"]),
    ("yes", ["find", "delete", "update"]),  # state + delete profile + end conversation
    ("hello", ["find"]),  # state, then the fallback answer
]

LEASE = ["findAndModify"]
"""Take the lease: the state, the handled updates and the flood bucket come with it."""
RELEASE = ["update"]
"""Let it go: the step's change, the update recorded and the bucket, in one write."""
LEASED = [
    ("/help", LEASE + RELEASE),
    ("/me", [*LEASE, "find", *RELEASE]),  # + profile (none)
    ("/start", [*LEASE, "find", *RELEASE]),  # + profile (none)
    ("Ada", [*LEASE, "insert", *RELEASE]),  # + register
    ("/me", [*LEASE, "find", *RELEASE]),
    ("/start", [*LEASE, "find", *RELEASE]),
    ("/rename", [*LEASE, "find", *RELEASE]),
    ("/x", LEASE + RELEASE),
    ("Grace", [*LEASE, "findAndModify", *RELEASE]),  # + rename
    ("/rename", [*LEASE, "find", *RELEASE]),
    ("/cancel", LEASE + RELEASE),
    ("/forget", [*LEASE, "find", *RELEASE]),
    ("yes", [*LEASE, "delete", *RELEASE]),  # + delete profile
    ("hello", LEASE + RELEASE),
]


def local_budget(message: str) -> int:
    return {"/help": 0, "/me": 2}.get(message, 3)


@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
async def test_each_step_costs_the_expected_round_trips_in_one_process(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LOCAL)

    assert measured == LOCAL
    assert all(len(commands) <= local_budget(message) for message, commands in measured)


@pytest.mark.parametrize("backend", ["leased"], indirect=True)
async def test_each_step_costs_the_expected_round_trips_under_leases(bot: BotUnderTest) -> None:
    measured = await _measure(bot, LEASED)

    assert measured == LEASED
    assert all(len(commands) <= 3 for _, commands in measured)


async def _measure(
    bot: BotUnderTest, flow: list[tuple[str, list[str]]]
) -> list[tuple[str, list[str]]]:
    measured = []
    for message, _ in flow:
        replies, commands = await bot.round_trips(message)
        assert replies, message
        measured.append((message, commands))
    return measured


@pytest.mark.parametrize("backend", ["mongo", "leased"], indirect=True)
async def test_mongodb_commands_are_timed_by_name_and_the_executor_is_watched(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")
    await bot.send("Ada")

    text = bot.container.metrics().exposition().decode()

    assert 'profilebot_mongo_command_duration_seconds_count{command="insert",outcome="ok"} 1.0' in (
        text
    )
    assert "profilebot_mongo_executor_threads_busy 0.0" in text
    assert "profilebot_mongo_executor_calls_queued 0.0" in text
