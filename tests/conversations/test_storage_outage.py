"""MongoDB going away mid-run: an apology, the conversation kept, no crash."""

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from application.errors import StorageUnavailable
from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.telegram import texts
from presentation.telegram.states import Forgetting, Registration
from tests.conversations.conftest import MONGO_ONLY, BotUnderTest, isolation

pytestmark = MONGO_ONLY

COMMANDS_THAT_READ = ["/me", "/start", "/rename", "/cancel", "/forget", "/language", "/mydata"]
COMMANDS_THAT_READ_NOTHING: dict[str, Callable[[BotUnderTest], str]] = {
    "/help": lambda _bot: texts.help_text(),
    "/privacy": lambda bot: texts.privacy(bot.container.retention()),
}
"""Every command, each in one of the two (a test in test_no_hidden_lists checks); one that
reads nothing, with its answer."""


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    """A server this test may stop and restart (same port, same data) without disturbing
    the others."""
    server = EmbeddedMongo(data_dir=tmp_path / "mongo")
    server.start(timeout_seconds=30)
    yield server
    server.stop()


@pytest.fixture
def settings(own_server: EmbeddedMongo, db_name: str, backend: str) -> Settings:
    return Settings(
        _env_file=None,
        mongo_uri=own_server.uri,
        mongo_db=db_name,
        # Each apology while the server is down waits this long; the steps once it is back
        # must fit in it on a loaded machine, the first of them on new connections.
        mongo_operation_timeout_ms=1000,
        event_isolation=isolation(backend),
    )


@pytest.fixture
def database() -> None:
    """The shared server's database is not this bot's; nothing to inspect there."""


async def test_every_storage_command_apologises_while_mongodb_is_down(
    bot: BotUnderTest, own_server: EmbeddedMongo
) -> None:
    await bot.send("/start")
    own_server.stop()

    for message in ["Ada", *COMMANDS_THAT_READ]:
        assert await bot.send(message) == [texts.storage_unavailable()], message
    for message, answer in COMMANDS_THAT_READ_NOTHING.items():
        assert await bot.send(message) == [answer(bot)], message


async def test_the_conversation_is_where_it_was_when_mongodb_returns(
    bot: BotUnderTest, own_server: EmbeddedMongo
) -> None:
    await bot.send("/start")
    own_server.stop()
    assert await bot.send("Ada") == [texts.storage_unavailable()]

    own_server.start(timeout_seconds=30)
    await _once_the_client_sees_it_back(bot)

    assert await bot.state_of() == Registration.waiting_for_name.state
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_a_pressed_button_is_answered_with_an_apology_and_stays_while_mongodb_is_down(
    bot: BotUnderTest, own_server: EmbeddedMongo
) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/me")
    profile = bot.latest_with_button(texts.rename_button())
    await bot.send("/forget")
    question = bot.latest_with_button(texts.confirm_delete_button())
    own_server.stop()

    for label, message in [
        (texts.rename_button(), profile),
        (texts.delete_button(), profile),
        (texts.confirm_delete_button(), question),
        (texts.keep_button(), question),
    ]:
        assert await bot.press(label, on=message) == [texts.storage_unavailable()], label

    assert len(bot.callback_answers()) == 4
    assert bot.retired() == []  # the buttons stay, to be pressed again
    own_server.start(timeout_seconds=30)
    await _once_the_client_sees_it_back(bot)
    assert await bot.state_of() == Forgetting.waiting_for_confirmation.state
    assert await bot.press(texts.confirm_delete_button(), on=question) == [texts.forgotten()]


async def _once_the_client_sees_it_back(bot: BotUnderTest) -> None:
    """The client learns the server is back at its next check (every 0.5 s; a loaded machine
    may take longer): until then a read fails fast, as a user's step would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        try:
            await bot.state_of()
        except StorageUnavailable:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            return
