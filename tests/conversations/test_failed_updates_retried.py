"""Polling handles a failed update again itself (nobody else delivers it again), inside the
user's turn: none of the user's later messages overtakes it."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage, TelegramMethod
from dependency_injector import providers

from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import local_update
from presentation.telegram import texts
from presentation.telegram.middlewares.retry_failed import RetryFailedUpdates
from tests.conversations.conftest import ADA, InMemoryStorage, RefusedReplies, fed_directly


class RefusesFirstReplies(RefusedReplies):
    """`RefusedReplies`, keeping the texts that got through."""

    def __init__(self, failures: int) -> None:
        self.requests: list[TelegramMethod[Any]] = []
        super().__init__(self.requests, failures, TelegramNetworkError)

    @property
    def sent(self) -> list[str]:
        return [r.text for r in self.requests if isinstance(r, SendMessage)]


@pytest.fixture
async def polling_bot(
    backend: str, settings: Settings
) -> AsyncIterator[tuple[Container, RefusesFirstReplies]]:
    """The container as `profilebot polling` has it, retrying quickly."""
    session = RefusesFirstReplies(failures=2)
    container = fed_directly(settings, session)
    container.mode.override(providers.Object("polling"))
    quick = RetryFailedUpdates(first_delay_seconds=0.05, longest_delay_seconds=0.1)
    container.retry_failed.override(providers.Object(quick))
    if backend == "memory":
        container.storage.override(InMemoryStorage())
    await asyncio.to_thread(lifecycle.start, container)
    yield container, session
    await asyncio.to_thread(lifecycle.stop, container)


async def test_a_failed_message_is_handled_again_before_the_users_next_one(
    polling_bot: tuple[Container, RefusesFirstReplies],
) -> None:
    container, session = polling_bot
    dispatcher, bot = container.dispatcher(), container.bot()

    await asyncio.gather(
        dispatcher.feed_update(bot, local_update(1, ADA, "/start")),
        dispatcher.feed_update(bot, local_update(2, ADA, "Ada")),
    )

    assert session.sent == [texts.ask_name(), texts.registered("Ada")]


async def test_a_rename_whose_reply_failed_is_answered_renamed_when_tried_again(
    polling_bot: tuple[Container, RefusesFirstReplies],
) -> None:
    container, session = polling_bot
    dispatcher, bot = container.dispatcher(), container.bot()
    session.failures = 0
    for update_id, text in enumerate(["/start", "Ada", "/rename"], start=1):
        await dispatcher.feed_update(bot, local_update(update_id, ADA, text))
    session.failures = 2  # the reply and its apology

    await asyncio.gather(
        dispatcher.feed_update(bot, local_update(4, ADA, "Bob")),
        dispatcher.feed_update(bot, local_update(5, ADA, "thanks")),
    )

    assert session.sent[-2:] == [texts.renamed("Bob"), texts.unknown_input("thanks")]


async def test_a_name_handled_again_ends_the_conversation_it_was_handled_in(
    polling_bot: tuple[Container, RefusesFirstReplies],
) -> None:
    container, session = polling_bot
    dispatcher, bot = container.dispatcher(), container.bot()
    session.failures = 0
    await dispatcher.feed_update(bot, local_update(1, ADA, "/start"))
    session.failures = 2  # "registered" and its apology

    await dispatcher.feed_update(bot, local_update(2, ADA, "Ada"))
    await dispatcher.feed_update(bot, local_update(3, ADA, "hello"))

    assert session.sent[-2:] == [texts.registered("Ada"), texts.unknown_input("hello")]
