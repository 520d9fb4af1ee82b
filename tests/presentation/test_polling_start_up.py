"""A stop signal anywhere in polling's start-up ends it as start-up: `Interrupted` (one line,
exit 128 + N), never a cancelled task's traceback."""

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from dependency_injector import providers
from pydantic import SecretStr

from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.interruption import Interrupted
from presentation.entrypoints.polling import serve as polling
from presentation.entrypoints.terminal.local_session import LocalBotSession

pytestmark = pytest.mark.mongo


@asynccontextmanager
async def signalled_while_starting(container: Container) -> AsyncIterator[None]:
    """The health endpoints' start-up, during which SIGTERM arrives."""
    del container
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(30)  # starting; the signal ends this
    yield


async def test_a_signal_while_the_health_endpoints_start_is_a_start_up_interruption(
    mongo_server: EmbeddedMongo, db_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        _env_file=None,
        bot_token=SecretStr("42:TEST-TOKEN"),
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        http_port=free_loopback_port(),
    )
    container = Container(settings=settings)
    container.bot_session.override(providers.Object(LocalBotSession(lambda method: None)))
    monkeypatch.setattr(polling, "_health_endpoints", signalled_while_starting)
    await asyncio.to_thread(lifecycle.start, container)
    try:
        with pytest.raises(Interrupted) as interrupted:
            await asyncio.wait_for(polling.run_polling(container), 20)
    finally:
        await asyncio.to_thread(lifecycle.stop, container)

    assert interrupted.value.signum == signal.SIGTERM
