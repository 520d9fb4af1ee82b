"""Sequential MongoDB round trips per conversation step, counted with pymongo's command
monitoring; commands that go out together (one round) are joined by `+`, and a step's cost
is its number of rounds: the critical path, what the user waits for
(`critical_path` counts them from the event loop's order of events, not from timing).

A count is deterministic, so unlike a speed target it may be a test. Budgets, one process
(`EVENT_ISOLATION=local`): /help and /privacy 0, every other step ≤ 2, and a registration
(/start, then the name) ≤ 4. The conversation this process wrote last is read back from
memory (it alone serves the user), and a step that reads both the profile and the
conversation reads them together; a step that changes the conversation writes it once,
after its replies, recording the update as handled.

Under leases (`EVENT_ISOLATION=mongo`) every step takes its conversation's lease, which is
also the read of the state, the handled updates and the flood bucket (`findAndModify`), and
lets it go in the one write that stores the step (`update`). A command's profile read goes
out with the lease, and stands if the lease was let go before it was sent (after a pause,
as between a person's messages; `PAUSE` stands for one); otherwise it is read again. Every
step ≤ 3, a registration ≤ 5; /help and /privacy, which read nothing, take no lease and
cost 0.

Not pinned here: an update that finds a question left open by a step that never wrote its
conversation (a holder that never released the lease, or another process in one process's
mode) asks the user's document which update last answered one: one more `find`, on that
update only (`test_leases.py`, `test_redelivery.py`).
"""

import pytest

from presentation.telegram import texts
from presentation.telegram.commands import reads_nothing
from tests.conversations.conftest import BotUnderTest, MongoRecords

PRESS = "press "
"""A step that presses the inline button named after it, under the latest message having it;
a step named `TAP` + label taps the reply keyboard's button (which sends the label)."""
TAP = "tap "
FORGED = "forged "
"""A step that presses the button named after it with data no button carries."""
PAUSE = "(a pause)"
"""Not a message: the last release moved a minute into the past, as a person's pause
between two messages would (so a profile read sent with the next lease stands). Every
other step follows the one before at once: its release is moved a minute into the future,
so that the count does not depend on how fast this machine runs them."""

pytestmark = pytest.mark.mongo

WRITE = "findAndModify"
"""One process's one write of the conversation: the document comes back, to remember."""
LOCAL = [
    # (message, expected rounds)
    ("/help", []),
    ("/privacy", []),  # reads nothing either
    ("/mydata", ["aggregate", "find"]),  # every collection at once + the conversation's state
    ("/me", ["find+find"]),  # profile (none) and state for the reminder, together
    ("/start", ["find+find", WRITE]),  # profile + not handled before? (nothing to remember)
    ("Ada", ["insert", WRITE]),  # register + end conversation, recorded; state remembered
    ("/mydata", ["aggregate"]),  # the conversation remembered
    ("/me", ["find"]),  # profile; the state, for the reminder, remembered
    ("/start", ["find"]),
    ("/rename", ["find", WRITE]),  # profile + ask
    ("/x", ["find"]),  # not a name: the profile, for the answer's language
    ("Grace", ["findAndModify", WRITE]),  # rename + end, recorded
    ("/language", ["find"]),
    (PRESS + "Русский", ["findAndModify"]),  # choose (whose buttons: the state remembered)
    ("/rename", ["find", WRITE]),
    ("/cancel", ["find", WRITE]),  # profile (language) + end
    ("/forget", ["find", WRITE]),
    ("yes", ["findAndModify", WRITE]),  # delete (its language) + end
    ("hello", ["find"]),  # the profile (language), then the fallback answer
    ("/language", ["find"]),
    (PRESS + "✓ English", ["findAndModify", WRITE]),  # no profile: kept in the conversation
]
REGISTRATION = ["/start", "Ada"]

LEASE = "findAndModify"
"""Take the lease: the state, the handled updates and the flood bucket come with it."""
EARLY = "find+findAndModify"
"""Take the lease, the profile read sent with it."""
RELEASE = "update"
"""Let it go: the step's change, the update recorded and the bucket, in one write."""
LEASED = [
    ("/help", []),  # reads nothing, so takes no lease
    ("/privacy", []),
    ("/start", [EARLY, RELEASE]),  # nobody held it before: the early read stands
    ("Ada", [LEASE, "insert", RELEASE]),  # + register
    (PAUSE, []),
    ("/mydata", [EARLY, "aggregate", RELEASE]),  # its export reads the profile again
    ("/me", [EARLY, "find", RELEASE]),  # let go just before: the profile is read again
    (PAUSE, []),
    ("/me", [EARLY, RELEASE]),
    ("/start", [EARLY, "find", RELEASE]),
    (PAUSE, []),
    ("/rename", [EARLY, RELEASE]),
    ("/x", [EARLY, "find", RELEASE]),  # the profile, for the answer's language
    ("Grace", [LEASE, "findAndModify", RELEASE]),  # + rename
    (PAUSE, []),
    ("/language", [EARLY, RELEASE]),
    (PRESS + "Русский", [LEASE, "findAndModify", RELEASE]),
    (PAUSE, []),
    ("/rename", [EARLY, RELEASE]),
    ("/cancel", [EARLY, "find", RELEASE]),
    (PAUSE, []),
    ("/forget", [EARLY, RELEASE]),
    ("yes", [LEASE, "findAndModify", RELEASE]),  # + delete profile
    ("hello", [LEASE, "find", RELEASE]),  # not a command: no early read
    (PAUSE, []),
    ("/language", [EARLY, RELEASE]),
    (PRESS + "✓ English", [LEASE, "findAndModify", RELEASE]),
]


LOCAL_BUTTONS = [
    ("/start", ["find+find", WRITE]),
    (TAP + "Ada Lovelace", ["insert", WRITE]),  # the offered name, as typed
    ("/me", ["find"]),
    (PRESS + texts.rename_button(), ["find", WRITE]),  # profile + ask
    (TAP + texts.cancel_button(), ["find", WRITE]),  # as /cancel
    ("/me", ["find"]),
    (PRESS + texts.delete_button(), ["find", WRITE]),  # profile + ask
    (PRESS + texts.delete_button(), ["find"]),  # again: asked already (+ language)
    (PRESS + texts.keep_button(), ["find", WRITE]),  # language + end
    (PRESS + texts.keep_button(), ["find"]),  # the question is closed: no write
    ("/me", ["find"]),
    (FORGED + texts.rename_button(), []),  # answered without reading anything
    ("/forget", ["find", WRITE]),
    (PRESS + texts.confirm_delete_button(), ["findAndModify", WRITE]),
]

LEASED_BUTTONS = [
    ("/start", [EARLY, RELEASE]),
    (TAP + "Ada Lovelace", [LEASE, "insert", RELEASE]),
    ("/me", [EARLY, "find", RELEASE]),
    (PRESS + texts.rename_button(), [LEASE, "find", RELEASE]),
    (TAP + texts.cancel_button(), [LEASE, "find", RELEASE]),
    (PAUSE, []),
    ("/me", [EARLY, RELEASE]),
    (PRESS + texts.delete_button(), [LEASE, "find", RELEASE]),
    (PRESS + texts.delete_button(), [LEASE, "find", RELEASE]),
    (PRESS + texts.keep_button(), [LEASE, "find", RELEASE]),
    (PRESS + texts.keep_button(), [LEASE, "find", RELEASE]),
    ("/me", [EARLY, "find", RELEASE]),
    (FORGED + texts.rename_button(), [LEASE, RELEASE]),
    ("/forget", [EARLY, "find", RELEASE]),
    (PRESS + texts.confirm_delete_button(), [LEASE, "findAndModify", RELEASE]),
]


def local_budget(step: str) -> int:
    return 0 if step in ("/help", "/privacy") else 2


def registration(measured: list[tuple[str, list[str]]]) -> int:
    """The sequential round trips of the flow's first /start and the name after it."""
    start = [step for step, _ in measured].index("/start")
    return sum(len(rounds) for _, rounds in measured[start : start + 2])


@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
async def test_each_step_costs_the_expected_round_trips_in_one_process(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LOCAL)

    assert measured == LOCAL
    assert all(len(rounds) <= local_budget(step) for step, rounds in measured)
    assert registration(measured) <= 4


@pytest.mark.parametrize("backend", ["leased"], indirect=True)
async def test_each_step_costs_the_expected_round_trips_under_leases(bot: BotUnderTest) -> None:
    measured = await _measure(bot, LEASED)

    assert measured == LEASED
    assert all(
        len(rounds) <= (0 if step in ("/help", "/privacy") else 3) for step, rounds in measured
    )
    assert registration(measured) <= 5


@pytest.mark.parametrize("backend", ["mongo"], indirect=True)
async def test_each_tap_and_press_costs_the_expected_round_trips_in_one_process(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LOCAL_BUTTONS)

    assert measured == LOCAL_BUTTONS
    assert all(len(rounds) <= 2 for _, rounds in measured)
    assert registration(measured) <= 4
    assert len(bot.callback_answers()) == sum(
        step.startswith((PRESS, FORGED)) for step, _ in measured
    )


@pytest.mark.parametrize("backend", ["leased"], indirect=True)
async def test_each_tap_and_press_costs_the_expected_round_trips_under_leases(
    bot: BotUnderTest,
) -> None:
    measured = await _measure(bot, LEASED_BUTTONS)

    assert measured == LEASED_BUTTONS
    assert all(len(rounds) <= 3 for _, rounds in measured)
    assert registration(measured) <= 5
    assert len(bot.callback_answers()) == sum(
        step.startswith((PRESS, FORGED)) for step, _ in measured
    )


async def _measure(
    bot: BotUnderTest, flow: list[tuple[str, list[str]]]
) -> list[tuple[str, list[str]]]:
    """Each step's commands; every step but a press of a stale button is answered."""
    measured: list[tuple[str, list[str]]] = []
    for step, _ in flow:
        if step == PAUSE:
            _move_last_releases(bot, by_ms=-120_000)
            measured.append((step, []))
            continue
        if step.startswith((PRESS, FORGED)):
            label = step.removeprefix(PRESS).removeprefix(FORGED)
            data = "profile:explode" if step.startswith(FORGED) else None
            answers = len(bot.callback_answers())
            _, commands = await bot.feed_rounds(bot.press_update(label, data=data))
            assert len(bot.callback_answers()) == answers + 1, step
        else:
            if step.startswith(TAP):
                assert step.removeprefix(TAP) in bot.keyboard(), step
            replies, commands = await bot.rounds(step.removeprefix(TAP))
            assert replies, step
        measured.append((step, commands))
        # However slow this machine, the next step comes "at once" unless a PAUSE says not.
        _move_last_releases(bot, by_ms=60_000)
    return measured


def _move_last_releases(bot: BotUnderTest, by_ms: int) -> None:
    """Move when each lease was last let go (as the lease noted it) by `by_ms`."""
    assert isinstance(bot.records, MongoRecords)
    states = bot.records.database["fsm_states"]
    states.update_many({"released_ms": {"$exists": True}}, {"$inc": {"released_ms": by_ms}})


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
