"""A fake Bot API and a `profilebot polling` process against it and the test MongoDB."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env

BOT_TOKEN = "4242:e2e-SECRET-token"


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(BOT_TOKEN) as api:
        yield api


@pytest.fixture
def env(bot_api: FakeBotApi, mongo_server: EmbeddedMongo, db_name: str) -> dict[str, str]:
    return clean_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        MONGO_URI=mongo_server.uri,
        MONGO_DB=db_name,
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def embedded_env(tmp_path: Path, bot_api: FakeBotApi) -> dict[str, str]:
    """Polling on the embedded server (no MONGO_URI), its data folder under `tmp_path`."""
    return clean_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        EMBEDDED_MONGO_PATH=str(tmp_path / "mongo"),
        LOG_LEVEL="INFO",
    )


@pytest.fixture
def bot(tmp_path: Path, env: dict[str, str]) -> Iterator[BotProcess]:
    process = BotProcess(tmp_path, env)
    yield process
    if process.process.poll() is None:
        process.kill()
