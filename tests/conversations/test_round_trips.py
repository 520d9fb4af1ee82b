"""MongoDB round trips per conversation step, counted with pymongo's command monitoring.

A count is deterministic, so unlike a speed target it may be a test. Budgets: /help 0,
/me ≤ 2, every other step ≤ 3. The exact counts pin what each step does; a step that changes
the conversation writes it once, after its replies, recording the update as handled.
"""

from tests.conversations.conftest import MONGO_ONLY, BotUnderTest

pytestmark = MONGO_ONLY

FLOW = [
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


def budget(message: str) -> int:
    return {"/help": 0, "/me": 2}.get(message, 3)


async def test_each_step_costs_the_expected_round_trips(bot: BotUnderTest) -> None:
    measured = []
    for message, _ in FLOW:
        replies, commands = await bot.round_trips(message)
        assert replies, message
        measured.append((message, commands))

    assert measured == FLOW
    assert all(len(commands) <= budget(message) for message, commands in measured)


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
