"""Start-up and shutdown of what the bot runs on, in the one order that is safe."""

from collections.abc import Iterator
from contextlib import contextmanager

from application.errors import StorageUnavailable
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.container import Container


@contextmanager
def open_container(settings: Settings) -> Iterator[Container]:
    """A container whose MongoDB has answered; on exit the executor drains, the client
    closes and an embedded server (if one was started) stops, in that order.

    Call it outside the event loop, in the main thread: resources start synchronously, and
    the embedded server is tied to the thread that started it.
    """
    container = Container(settings=settings)
    try:
        container.mongo_executor()
        yield container
    finally:
        container.shutdown_resources()


async def prepare_storage(container: Container) -> None:
    """Create the indexes the adapters rely on: uniqueness of users, expiry of conversations."""
    try:
        await container.user_repository().ensure_indexes()
        await container.fsm_storage().ensure_indexes()
    except StorageUnavailable as error:
        raise StartupError(f"MongoDB failed while creating indexes ({error})") from None
