"""The use case succeeded, then ending the conversation failed: the user is told what really
happened, and the leftover conversation is ended at their next message instead of being
taken for a new answer."""

import pytest

from application.errors import StorageUnavailable
from presentation.telegram import texts
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest

pytestmark = MONGO_ONLY


class FailingOnce:
    """The FSM storage's `clear`, failing the first time as an outage would."""

    def __init__(self, clear: object) -> None:
        self._clear = clear
        self.failed = False

    async def __call__(self, *args: object) -> None:
        if not self.failed:
            self.failed = True
            raise StorageUnavailable("MongoDB call failed: NetworkTimeout")
        assert callable(self._clear)
        await self._clear(*args)


def fail_next_ending(bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch) -> FailingOnce:
    """Make the next end of a conversation fail once."""
    failing = FailingOnce(bot.dispatcher.storage.clear)  # type: ignore[attr-defined]
    monkeypatch.setattr(bot.dispatcher.storage, "clear", failing)
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

    assert await bot.send("YES") == [texts.FORGOTTEN]
    assert failing.failed
    assert bot.stored_users() == []

    assert await bot.send("/me") == [texts.NOT_REGISTERED]
    assert await bot.state_of() is None


async def test_help_after_a_failed_ending_still_needs_no_storage(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send("/start")
    failing = fail_next_ending(bot, monkeypatch)
    await bot.send("Ada")
    assert failing.failed

    replies, commands = await bot.round_trips("/help")

    assert (replies, commands) == ([texts.HELP], [])
