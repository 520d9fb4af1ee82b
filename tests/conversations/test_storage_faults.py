"""Faults injected into the real MongoDB server with `configureFailPoint`/`failCommand`.

Every operation runs under pymongo's `timeoutMS` (the operation timeout, see conftest), and
with a timeout pymongo retries a retryable write as often as its deadline allows, not once:
each test pins the exact commands sent, so the number of attempts is asserted rather than
assumed.
"""

import asyncio
import time

import pytest

from presentation.telegram import texts
from presentation.telegram.states import Registration
from tests.conftest import FailPoints
from tests.conversations.conftest import COMMAND_LOG, ONE_PROCESS_MONGO, BotUnderTest, MongoRecords

pytestmark = ONE_PROCESS_MONGO
WRITE = "findAndModify"
"""The conversation's one write (its document comes back, remembered); the conversation
itself, once this process has written it, is read from memory."""

RETRYABLE = {"errorCode": 6, "errorLabels": ["RetryableWriteError"]}  # HostUnreachable
DROPPED = {"closeConnection": True}
TRANSIENT = pytest.mark.parametrize(
    "fault", [RETRYABLE, DROPPED], ids=["retryable-error", "dropped"]
)

# A primary shutting down or stepping down: pymongo marks the server Unknown and sends the
# retry only after its monitor has seen the server answer `hello` again. These test that the
# client's monitoring (see `create_mongo_client`) does so within the budget (a streaming
# monitor would take its 10 s heartbeat, far more than the operation timeout).
STATE_CHANGE = pytest.mark.parametrize(
    "code", [91, 10107], ids=["ShutdownInProgress", "NotWritablePrimary"]
)


@TRANSIENT
async def test_one_transient_insert_fault_is_retried_once_then_registered_and_ended(
    bot: BotUnderTest, fail_points: FailPoints, fault: dict[str, object]
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=1, **fault)

    replies, commands = await bot.round_trips("Ada")

    assert replies == [texts.registered("Ada")]
    assert commands == ["insert", "insert", WRITE]  # the failed insert, its retry
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


@STATE_CHANGE
async def test_one_state_change_insert_error_is_retried_once_in_budget_then_registered_and_ended(
    bot: BotUnderTest, fail_points: FailPoints, code: int
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=1, errorCode=code, errorLabels=["RetryableWriteError"])

    replies, commands = await bot.round_trips("Ada")

    assert replies == [texts.registered("Ada")]  # not an apology
    assert commands == ["insert", "insert", WRITE]
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


async def test_three_retryable_insert_errors_are_retried_thrice_then_registered_once_and_ended(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=3, **RETRYABLE)

    replies, commands = await bot.round_trips("Ada")

    assert replies == [texts.registered("Ada")]
    assert commands == ["insert", "insert", "insert", "insert", WRITE]
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    assert await bot.state_of() is None


async def _waiting_for_a_new_name(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")


@TRANSIENT
async def test_one_rename_findandmodify_fault_is_retried_once_then_renamed_and_ended(
    bot: BotUnderTest, fail_points: FailPoints, fault: dict[str, object]
) -> None:
    await _waiting_for_a_new_name(bot)
    fail_points.fail(["findAndModify"], times=1, **fault)

    replies, commands = await bot.round_trips("Grace")

    assert replies == [texts.renamed("Grace")]
    assert commands == ["findAndModify", "findAndModify", WRITE]  # rename, its retry
    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await bot.state_of() is None


@TRANSIENT
async def test_one_fault_ending_the_rename_is_retried_once_then_renamed_and_ended(
    bot: BotUnderTest, fail_points: FailPoints, fault: dict[str, object]
) -> None:
    await _waiting_for_a_new_name(bot)
    fail_points.fail_after(1, [WRITE], times=1, **fault)  # the rename passes, the write not

    replies, commands = await bot.round_trips("Grace")

    assert replies == [texts.renamed("Grace")]
    assert commands == ["findAndModify", WRITE, WRITE]  # the rename, the write, its retry
    assert [u["name"] for u in bot.stored_users()] == ["Grace"]
    assert await bot.state_of() is None


async def test_a_persistent_write_fault_is_an_apology_and_the_question_stays_open(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    fail_points.fail(["insert"], times=0, **RETRYABLE)

    assert await bot.send("Ada") == [texts.storage_unavailable()]
    assert bot.stored_users() == []
    assert await bot.state_of() == Registration.waiting_for_name.state

    fail_points.off()
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_a_stalled_database_is_an_apology_within_the_timeout_while_help_answers(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    budget = bot.container.settings().mongo_operation_timeout_seconds
    # The server stalls every find far longer than the bot's operation timeout.
    stall_ms = round(budget * 1000) + 5000
    fail_points.fail(["find"], times=0, blockConnection=True, blockTimeMS=stall_ms)
    started, already = time.monotonic(), len(COMMAND_LOG.commands)
    stalled = asyncio.create_task(bot.send("/me"))
    await _sent(bot, "find", since=already)  # /me is stuck in it now

    assert await bot.send("/help", user_id=8) == [texts.help_text()]
    assert not stalled.done()  # still within its budget: /help did not wait for it

    assert await stalled == [texts.storage_unavailable()]
    assert time.monotonic() - started < budget + 1.5  # one budget, not the stall
    fail_points.off()
    assert await bot.send("/start") == [texts.ask_name()]


async def _sent(bot: BotUnderTest, command: str, since: int) -> None:
    """Wait until the bot has sent `command` to its database (since that many commands)."""
    assert isinstance(bot.records, MongoRecords)
    sent = (bot.records.database.name, command)
    async with asyncio.timeout(30):
        while sent not in COMMAND_LOG.commands[since:]:  # noqa: ASYNC110 - a listener's list
            await asyncio.sleep(0.01)


async def test_a_language_press_whose_conversation_cannot_be_read_changes_nothing(
    bot: BotUnderTest, fail_points: FailPoints
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/language")
    bot.container.storage.remembered().forget_all()  # as a restarted process: to be read
    fail_points.fail(["find"], times=1, errorCode=2)  # BadValue: not retried

    replies = await bot.press("Русский")

    assert replies == [texts.storage_unavailable()]  # "nothing was lost": and nothing was
    assert [u.get("language") for u in bot.stored_users()] == [None]
