"""Faults injected into the real MongoDB server with `configureFailPoint`/`failCommand`."""

import asyncio
import time

import pytest

from presentation.telegram import texts
from presentation.telegram.states import Registration
from tests.conftest import FailPoints
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest

pytestmark = MONGO_ONLY

RETRYABLE = {"errorCode": 6, "errorLabels": ["RetryableWriteError"]}  # HostUnreachable
DROPPED = {"closeConnection": True}


@pytest.mark.parametrize("fault", [RETRYABLE, DROPPED], ids=["retryable-error", "dropped"])
async def test_one_transient_fault_on_registering_is_retried_exactly_once(
    bot: BotUnderTest, fail_points: FailPoints, fault: dict[str, object]
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=1, **fault)

    replies, commands = await bot.round_trips("Ada")

    assert replies == [texts.registered("Ada")]
    assert commands.count("insert") == 2  # the failed attempt and its retry
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


@pytest.mark.parametrize("fault", [RETRYABLE, DROPPED], ids=["retryable-error", "dropped"])
async def test_one_transient_fault_on_renaming_and_ending_it_is_retried(
    bot: BotUnderTest, fail_points: FailPoints, fault: dict[str, object]
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")
    fail_points.fail(["findAndModify", "delete"], times=2, **fault)

    assert await bot.send("Grace") == [texts.renamed("Grace")]

    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await bot.state_of() is None


async def test_a_persistent_write_fault_is_an_apology_and_the_question_stays_open(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=0, **RETRYABLE)

    assert await bot.send("Ada") == [texts.STORAGE_UNAVAILABLE]
    assert bot.stored_users() == []
    assert await bot.state_of() == Registration.waiting_for_name.state

    fail_points.off()
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_a_stalled_database_is_an_apology_within_the_timeout_while_help_answers(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    # The bot's operation timeout is 1 s (see conftest); the server stalls every find 5 s.
    fail_points.fail(["find"], times=0, blockConnection=True, blockTimeMS=5000)
    started = time.monotonic()
    stalled = asyncio.create_task(bot.send("/me"))
    await asyncio.sleep(0.1)

    assert await bot.send("/help", user_id=8) == [texts.HELP]
    assert not stalled.done()

    assert await stalled == [texts.STORAGE_UNAVAILABLE]
    assert time.monotonic() - started < 2.5  # 1 s budget; generous for a noisy machine
    fail_points.off()
    assert await bot.send("/start") == [texts.ASK_NAME]
