"""The use case succeeded and the user was told, then writing the end of the conversation
failed: the change is carried into the user's next message, so that message is not taken
for another answer to the finished question. (That is one process's way; under leases the
update fails instead and its redelivery ends it: see test_leases. A reply that failed after
the use case succeeded: test_failed_replies.)"""

import pytest
from aiogram.exceptions import TelegramNetworkError

from application.errors import StorageUnavailable
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from tests.conversations.conftest import ADA, BotUnderTest, refuse_replies

pytestmark = [pytest.mark.mongo, pytest.mark.parametrize("backend", ["mongo"], indirect=True)]


class FailingWrites:
    """The conversation store's `write`, failing the first `times` as an outage would."""

    def __init__(self, write: object, times: int) -> None:
        self._write = write
        self._times = times
        self.failures = 0

    @property
    def failed(self) -> bool:
        return self.failures > 0

    async def __call__(self, *args: object, **kwargs: object) -> None:
        if self.failures < self._times:
            self.failures += 1
            raise StorageUnavailable("MongoDB call failed: NetworkTimeout")
        assert callable(self._write)
        await self._write(*args, **kwargs)


def fail_next_ending(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch, times: int = 1
) -> FailingWrites:
    """Make the next `times` writes of a conversation fail."""
    failing = FailingWrites(bot.dispatcher.storage.write, times)  # type: ignore[attr-defined]
    monkeypatch.setattr(bot.dispatcher.storage, "write", failing)
    return failing


async def _registered(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")


async def test_a_registration_whose_ending_failed_is_confirmed_and_not_asked_again(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send("/start")
    failing = fail_next_ending(bot, monkeypatch)

    assert await bot.send("Ada") == [texts.registered("Ada")]
    assert failing.failed

    assert await bot.send("Grace") == [texts.unknown_input("Grace")]
    assert await bot.state_of() is None
    assert [u["name"] for u in bot.stored_users()] == ["Ada"]


async def test_a_rename_whose_ending_failed_is_confirmed_and_the_next_text_is_no_new_name(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _registered(bot)
    await bot.send("/rename")
    failing = fail_next_ending(bot, monkeypatch)

    assert await bot.send("Grace") == [texts.renamed("Grace")]
    assert failing.failed

    assert await bot.send("Bob") == [texts.unknown_input("Bob")]
    assert [u["name"] for u in bot.stored_users()] == ["Grace"]


async def test_a_deletion_whose_ending_failed_is_confirmed_and_no_reminder_follows(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _registered(bot)
    await bot.send("/forget")
    failing = fail_next_ending(bot, monkeypatch)

    assert await bot.send("YES") == [texts.forgotten()]
    assert failing.failed
    assert bot.stored_users() == []

    assert await bot.send("/me") == [texts.not_registered()]
    assert await bot.state_of() is None


async def test_help_answers_while_the_unsaved_change_still_cannot_be_written(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send("/start")
    failing = fail_next_ending(bot, monkeypatch, times=2)
    await bot.send("Ada")

    assert await bot.send("/help") == [texts.help_text()]
    assert failing.failures == 2

    assert await bot.send("Grace") == [texts.unknown_input("Grace")]
    assert await bot.state_of() is None


async def test_a_rename_whose_reply_and_then_write_failed_is_still_owed_to_its_update(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _registered(bot)
    await bot.send("/rename")
    failing = fail_next_ending(bot, monkeypatch)
    refuse_replies(bot)
    bob = local_update(900, ADA, "Bob")
    with pytest.raises(TelegramNetworkError):
        await bot.feed(bob)  # renamed; the reply, the apology and the write all failed
    assert failing.failed

    assert await bot.send("thanks") == [texts.unknown_input("thanks")]
    assert await bot.feed(bob) == [texts.renamed("Bob")]
    assert [u["name"] for u in bot.stored_users()] == ["Bob"]
