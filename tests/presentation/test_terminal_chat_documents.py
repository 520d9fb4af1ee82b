"""`profilebot chat` shows a file the bot sends (/mydata's) by saving it in the current
directory and saying where: the real container and dispatcher, storage in memory."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import run_chat
from presentation.telegram import texts
from tests.conversations.conftest import InMemoryStorage

USER = 7


@pytest.fixture
async def container() -> AsyncIterator[Container]:
    container = Container(settings=Settings(_env_file=None, flood_burst=10_000))
    container.mode.override(providers.Object("chat"))
    container.storage.override(InMemoryStorage())
    await asyncio.to_thread(lifecycle.start, container)
    yield container
    await asyncio.to_thread(lifecycle.stop, container)


async def _chat(container: Container, *lines: str) -> list[str]:
    """What the chat printed for the typed lines."""
    printed: list[str] = []

    async def typed() -> AsyncIterator[str]:
        for line in lines:
            yield line

    await run_chat(container, typed(), printed.append, USER)
    return printed


def _files(folder: Path) -> list[tuple[Path, str]]:
    return [(path, path.read_text("utf-8")) for path in folder.glob("profilebot-*.json")]


def _folders_where_the_file_goes(folder: Path) -> None:
    """Folders named as /mydata's file of today (or of tomorrow, past midnight) would be."""
    today = datetime.now(UTC).date()
    for day in (today, today + timedelta(days=1)):
        (folder / f"profilebot-{day:%Y-%m-%d}.json").mkdir()


async def test_mydata_saves_the_file_in_the_current_directory_and_says_where(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    printed = await _chat(container, "/start", "Ada", "/mydata")

    [(saved, content)] = _files(tmp_path)
    assert printed[-1] == f"{texts.personal_data_sent()}\n[file saved: {saved}]"
    exported = json.loads(content)
    assert exported["user_id"] == USER
    assert [record["document"]["name"] for record in exported["records"]] == ["Ada"]


async def test_a_file_that_cannot_be_saved_is_said_so_and_the_chat_goes_on(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _folders_where_the_file_goes(tmp_path)

    printed = await _chat(container, "/mydata", "/cancel")

    assert printed[-2].startswith(f"{texts.nothing_kept()}\n[file profilebot-")
    assert printed[-2].endswith(".json not saved: Is a directory]")
    assert printed[-1] == texts.nothing_to_cancel()
