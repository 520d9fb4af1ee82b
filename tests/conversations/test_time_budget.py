"""One time budget per update for all its storage work: a slow database gets an apology
within it, not after each call's own.

The server is slowed with `blockTimeMS` by whole fractions of the budget, so that what each
test claims holds by a margin of about a third of the budget (a second) either way, on a
loaded machine too: a call meant to fit fits, a sum meant to overflow overflows."""

import time

import pytest

from infrastructure.settings import Settings
from presentation.telegram import states, texts
from presentation.telegram.states import Registration
from tests.conftest import FailPoints
from tests.conversations.conftest import ONE_PROCESS_MONGO, BotUnderTest

pytestmark = ONE_PROCESS_MONGO

BUDGET_SECONDS = 3.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mongo_operation_timeout_ms": round(BUDGET_SECONDS * 1000)})


def _ms(fraction: float) -> int:
    return round(BUDGET_SECONDS * fraction * 1000)


async def test_calls_each_within_the_timeout_but_together_over_it_get_an_apology_in_time(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    bot.container.storage.remembered().forget_all()  # as a restarted process: to be read
    # Registering reads the state, then inserts: 2/3 of the budget each, each within it.
    fail_points.fail(["find", "insert"], times=0, blockConnection=True, blockTimeMS=_ms(2 / 3))
    started = time.monotonic()

    replies, commands = await bot.round_trips("Ada")

    elapsed = time.monotonic() - started
    assert replies == [texts.storage_unavailable()]
    assert commands[:2] == ["find", "insert"]
    assert "findAndModify" not in commands  # the conversation was not written: not ended
    # One budget (3 s); the two calls alone would take 4 s.
    assert elapsed < BUDGET_SECONDS * 4 / 3 - 0.1, elapsed
    fail_points.off()
    assert await bot.state_of() == Registration.waiting_for_name.state


async def test_each_update_gets_a_fresh_budget(bot: BotUnderTest, fail_points: FailPoints) -> None:
    fail_points.fail(["find"], times=0, blockConnection=True, blockTimeMS=_ms(1 / 3))

    # Each step reads twice (2/3 of its budget); the two steps together take longer.
    assert await bot.send("/start") == [texts.ask_name()]
    assert await bot.send("/cancel") == [states.cancelled(Registration.waiting_for_name.state)]


async def test_the_write_after_the_reply_is_not_starved_by_a_slow_step(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    # The insert takes half of the step's budget, and so does the write ending the
    # conversation after the reply: more than the step has left by then, well within a
    # budget of its own.
    fail_points.fail(["insert", "update"], times=0, blockConnection=True, blockTimeMS=_ms(1 / 2))

    assert await bot.send("Ada") == [texts.registered("Ada")]

    fail_points.off()
    stored = bot.records.conversations()  # written despite the spent budget, not kept aside
    assert stored == 0
    assert await bot.state_of() is None
