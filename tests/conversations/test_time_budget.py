"""One time budget per update for all its storage work (the bot's operation timeout is 1 s
in these tests): a slow database gets an apology within it, not after each call's own."""

import time

from presentation.telegram import states, texts
from presentation.telegram.states import Registration
from tests.conftest import FailPoints
from tests.conversations.conftest import ONE_PROCESS_MONGO, BotUnderTest

pytestmark = ONE_PROCESS_MONGO


async def test_calls_each_within_the_timeout_but_together_over_it_get_an_apology_in_time(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    # Registering reads the state, then inserts: 0.9 s each, each within a 1 s timeout.
    fail_points.fail(["find", "insert"], times=0, blockConnection=True, blockTimeMS=900)
    started = time.monotonic()

    replies, commands = await bot.round_trips("Ada")

    elapsed = time.monotonic() - started
    assert replies == [texts.storage_unavailable()]
    assert commands[:2] == ["find", "insert"]
    assert "update" not in commands  # the conversation was not ended
    assert elapsed < 1.6, elapsed  # one 1 s budget; the two calls alone would take 1.8 s
    fail_points.off()
    assert await bot.state_of() == Registration.waiting_for_name.state


async def test_each_update_gets_a_fresh_budget(bot: BotUnderTest, fail_points: FailPoints) -> None:
    fail_points.fail(["find"], times=0, blockConnection=True, blockTimeMS=300)

    # Each step reads twice (0.6 s of its 1 s); the two steps together take longer.
    assert await bot.send("/start") == [texts.ask_name()]
    assert await bot.send("/cancel") == [states.cancelled(Registration.waiting_for_name.state)]


async def test_the_write_after_the_reply_is_not_starved_by_a_slow_step(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=0, blockConnection=True, blockTimeMS=900)

    assert await bot.send("Ada") == [texts.registered("Ada")]  # 0.9 s of the 1 s budget

    fail_points.off()
    stored = bot.records.conversations()  # written despite the spent budget, not kept aside
    assert stored == 0
    assert await bot.state_of() is None
