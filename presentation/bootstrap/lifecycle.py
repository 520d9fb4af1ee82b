"""Start-up and shutdown of what the bot runs on, the one way every front end uses.

`start` and `stop` are synchronous and block: call them before and after the event loop
(the CLI), or through `asyncio.to_thread` from inside one (tests, the bench). An embedded
server is tied to the thread that starts it, so the CLI starts it from the main thread.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from dependency_injector import providers

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.telegram.translation import missing_catalogues


def start(container: Container) -> None:
    """Translations loaded, and storage ready to serve: MongoDB reached (an embedded server
    started first when no MONGO_URI is set) and its indexes made. Raises `StartupError` with
    a printable line."""
    if missing := missing_catalogues():
        raise StartupError(
            f"the translations for {', '.join(missing)} are not compiled: install the project"
            " (pip install .), which compiles them"
        )
    container.storage.ready()


def stop(container: Container) -> None:
    """Release in order: the executor drains, then the client closes, then an embedded
    server stops; handlers are unwired from this container."""
    try:
        container.shutdown_resources()
    finally:
        container.unwire()


@contextmanager
def open_container(
    settings: Settings,
    embedded_mongo: EmbeddedMongo | None = None,
    mode: str = "polling",
    starting: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> Iterator[Container]:
    """A started container for `mode` (`polling`, `webhook` or `chat`), stopped on exit.
    `embedded_mongo` is a server the caller has already launched, so that it boots while
    the caller does other work. Starting runs inside `starting()` (the CLI's block that a
    stop signal may end)."""
    container = Container(settings=settings)
    container.mode.override(providers.Object(mode))
    if embedded_mongo is not None:
        container.storage.embedded_mongo.override(providers.Object(embedded_mongo))
    try:
        with starting():
            start(container)
        yield container
    finally:
        stop(container)
