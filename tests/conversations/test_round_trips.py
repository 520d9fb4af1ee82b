"""MongoDB round trips per conversation step, counted with pymongo's command monitoring.

A count is deterministic, so unlike a speed target it may be a test. Budgets, one process
(`EVENT_ISOLATION=local`): /help and /privacy 0, /me and /mydata ≤ 2, every other step ≤ 3.
The exact counts pin what each step does; a step that changes the conversation writes it
once, after its replies, recording the update as handled.

Under leases (`EVENT_ISOLATION=mongo`) every step takes its conversation's lease, which is
also the read of the state, the handled updates and the flood bucket (`findAndModify`), and
lets it go in the one write that stores the step (`update`): every step ≤ 3, lock and
duplicate check included, and every update is recorded, read-only ones too; /help and
/privacy, which read nothing, take no lease and cost 0.

Not pinned here: an update that finds a question left open by a step that never wrote its
conversation (a holder that never released the lease, or another process in one process's
mode) asks the user's document which update last answered one: one more `find`, on that
update only (`test_leases.py`, `test_redelivery.py`).
"""

import pytest

from presentation.telegram import texts
from presentation.telegram.commands import reads_nothing
from tests.conversations.conftest import BotUnderTest

PRESS = "press "
"""A step that presses the inline button named after it, under the latest message having it;
a step named `TAP` + label taps the reply keyboard's button (which sends the label)."""
TAP = "tap "
FORGED = "forged "
"""A step that presses the button named after it with data no button carries."""

pytestmark = pytest.mark.mongo

LOCAL = [
    # (message, expected commands)
    ("/help", []),
    ("/privacy", []),  # reads nothing either
    ("/mydata", ["aggregate", "find"]),  # every collection at once + the conversation's state
    ("/me", ["find", "find"]),  # profile (none) + state for the reminder
    ("/start", ["find", "find", "update"]),  # profile (none) + not handled before? + ask
    ("Ada", ["find", "insert", "update"]),  # state + register + end conversation, recorded
    ("/mydata", ["aggregate", "find"]),  # (the language from the profile it holds)
    ("/me", ["find", "find"]),  # profile + state for the reminder
    ("/start", ["find", "find"]),  # profile + state for the reminder
    ("/rename", ["find", "find", "update"]),  # profile + not handled before? + ask
    ("/x", ["find", "find"]),  # not a name: state (read once for both routers) + language
    ("Grace", ["find", "findAndModify", "update"]),  # state + rename + end, recorded
    ("/language", ["find", "find"]),  # state + profile, for the language spoken now
    (PRESS + "Русский", ["find", "findAndModify"]),  # state (whose buttons) + choose
    ("/rename", ["find", "find", "update"]),
    ("/cancel", ["find", "find", "update"]),  # state + profile (language) + end
    ("/forget", ["find", "find", "update"]),
    ("yes", ["find", "findAndModify", "update"]),  # state + delete (its language) + end
    ("hello", ["find", "find"]),  # state + profile (language), then the fallback answer
    ("/language", ["find", "find"]),
    (PRESS + "✓ English", ["find", "findAndModify", "update"]),  # no profile: the conversation
]

LEASE = ["findAndModify"]
"""Take the lease: the state, the handled updates and the flood bucket come with it."""
RELEASE = ["update"]
"""Let it go: the step's change, the update recorded and the bucket, in one write."""
LEASED = [
    ("/help", []),  # reads nothing, so takes no lease
    ("/privacy", []),
    ("/mydata", [*LEASE, "aggregate", *RELEASE]),  # + every collection at once
    ("/me", [*LEASE, "find", *RELEASE]),  # + profile (none)
    ("/start", [*LEASE, "find", *RELEASE]),  # + profile (none)
    ("Ada", [*LEASE, "insert", *RELEASE]),  # + register
    ("/mydata", [*LEASE, "aggregate", *RELEASE]),
    ("/me", [*LEASE, "find", *RELEASE]),
    ("/start", [*LEASE, "find", *RELEASE]),
    ("/rename", [*LEASE, "find", *RELEASE]),
    ("/x", [*LEASE, "find", *RELEASE]),  # + profile, for the answer's language
    ("Grace", [*LEASE, "findAndModify", *RELEASE]),  # + rename
    ("/language", [*LEASE, "find", *RELEASE]),
    (PRESS + "Русский", [*LEASE, "findAndModify", *RELEASE]),
    ("/rename", [*LEASE, "find", *RELEASE]),
    ("/cancel", [*LEASE, "find", *RELEASE]),
    ("/forget", [*LEASE, "find", *RELEASE]),
    ("yes", [*LEASE, "findAndModify", *RELEASE]),  # + delete profile
    ("hello", [*LEASE, "find", *RELEASE]),
    ("/language", [*LEASE, "find", *RELEASE]),
    (PRESS + "✓ English", [*LEASE, "findAndModify", *RELEASE]),
]


LOCAL_BUTTONS = [
    ("/start", ["find", "find", "update"]),
    (TAP + "Ada Lovelace", ["find", "insert", "update"]),  # the offered name, as typed
    ("/me", ["find", "find"]),
    (PRESS + texts.rename_button(), ["find", "find", "update"]),  # state + profile + ask
    (TAP + texts.cancel_button(), ["find", "find", "update"]),  # as /cancel
    ("/me", ["find", "find"]),
    (PRESS + texts.delete_button(), ["find", "find", "update"]),  # state + profile + ask
    (PRESS + texts.delete_button(), ["find", "find"]),  # again: asked already (+ language)
    (PRESS + texts.keep_button(), ["find", "find", "update"]),  # state + language + end
    (PRESS + texts.keep_button(), ["find", "find"]),  # the question is closed: no write
    ("/me", ["find", "find"]),
    (FORGED + texts.rename_button(), []),  # answered without reading anything
    ("/forget", ["find", "find", "update"]),
    (PRESS + texts.confirm_delete_button(), ["find", "findAndModify", "update"]),
]

LEASED_BUTTONS = [
    ("/start", [*LEASE, "find", *RELEASE]),
    (TAP + "Ada Lovelace", [*LEASE, "insert", *RELEASE]),
    ("/me", [*LEASE, "find", *RELEASE]),
    (PRESS + texts.rename_button(), [*LEASE, "find", *RELEASE]),
    (TAP + texts.cancel_button(), [*LEASE, "find", *RELEASE]),
    ("/me", [*LEASE, "find", *RELEASE]),
    (PRESS + texts.delete_button(), [*LEASE, "find", *RELEASE]),
    (PRESS + texts.delete_button(), [*LEASE, "find", *RELEASE]),
    (PRESS + texts.keep_button(), [*LEASE, "find", *RELEASE]),
    (PRESS + texts.keep_button(), [*LEASE, "find", *RELEASE]),
    ("/me", [*LEASE, "find", *RELEASE]),
    (FORGED + texts.rename_button(), LEASE + RELEASE),
    ("/forget", [*LEASE, "find", *RELEASE]),
    (PRESS + texts.confirm_delete_button(), [*LEASE, "findAndModify", *RELEASE]),
]


def local_budget(message: str) -> int:
    return {"/help": 0, "/privacy": 0, "/me": 2, "/mydata": 2}.get(message, 3)


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


@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
async def test_each_tap_and_press_costs_the_expected_round_trips_in_one_process(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LOCAL_BUTTONS)

    assert measured == LOCAL_BUTTONS
    assert all(len(commands) <= 3 for _, commands in measured)
    assert len(bot.callback_answers()) == sum(
        step.startswith((PRESS, FORGED)) for step, _ in measured
    )


@pytest.mark.parametrize("backend", ["leased"], indirect=True)
async def test_each_tap_and_press_costs_the_expected_round_trips_under_leases(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LEASED_BUTTONS)

    assert measured == LEASED_BUTTONS
    assert all(len(commands) <= 3 for _, commands in measured)
    assert len(bot.callback_answers()) == sum(
        step.startswith((PRESS, FORGED)) for step, _ in measured
    )


async def _measure(
    bot: BotUnderTest, flow: list[tuple[str, list[str]]]
) -> list[tuple[str, list[str]]]:
    """Each step's commands; every step but a press of a stale button is answered."""
    measured = []
    for step, _ in flow:
        if step.startswith((PRESS, FORGED)):
            label = step.removeprefix(PRESS).removeprefix(FORGED)
            data = "profile:explode" if step.startswith(FORGED) else None
            answers = len(bot.callback_answers())
            _, commands = await bot.feed_counting(bot.press_update(label, data=data))
            assert len(bot.callback_answers()) == answers + 1, step
        else:
            if step.startswith(TAP):
                assert step.removeprefix(TAP) in bot.keyboard(), step
            replies, commands = await bot.round_trips(step.removeprefix(TAP))
            assert replies, step
        measured.append((step, commands))
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


LOOKS_LIKE_HELP = ["/help", "/help me", "/help@profilebot", "/HELP", "/helpme", "/ help", "help"]


def test_only_the_exact_help_command_is_taken_for_one_that_reads_nothing() -> None:
    assert [text for text in LOOKS_LIKE_HELP if reads_nothing(text)] == ["/help", "/help me"]


@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
@pytest.mark.parametrize("text", [t for t in LOOKS_LIKE_HELP if reads_nothing(t)])
async def test_a_message_that_takes_no_lease_reads_nothing(bot: BotUnderTest, text: str) -> None:
    """Under leases such a message skips the lease; here, in one process, its handler shows
    that it needs none: it asks MongoDB nothing."""
    await bot.send("/start")  # a conversation in progress, which it must not need

    replies, commands = await bot.round_trips(text)

    assert replies == [texts.help_text()]
    assert commands == []
