"""Runs blocking pymongo calls off the event loop, on a thread pool of our own."""

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from application.errors import StorageUnavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class MongoExecutor:
    """`asyncio.to_thread` for pymongo, with two differences that matter.

    Its pool is sized for I/O and used by nothing else: the loop's default executor has
    only `min(32, cpus + 4)` threads and aiogram runs synchronous filters there too.
    And every driver error leaves as `StorageUnavailable`, so no caller sees pymongo.
    """

    def __init__(self, max_workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="mongo")

    async def run(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `call(*args, **kwargs)` run in the pool, with the caller's context vars."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        job = functools.partial(context.run, call, *args, **kwargs)
        try:
            return await loop.run_in_executor(self._pool, job)
        except PyMongoError as error:
            raise StorageUnavailable(f"MongoDB call failed: {type(error).__name__}") from error

    def shutdown(self) -> None:
        """Let calls already running finish, drop queued ones, join the threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def open_mongo_executor(max_workers: int, client: MongoClient[Any]) -> Iterator[MongoExecutor]:
    """Container resource. It takes `client` only so the container's ordered shutdown
    drains this executor before the client it calls is closed."""
    del client
    executor = MongoExecutor(max_workers)
    try:
        yield executor
    finally:
        executor.shutdown()
        log.debug("MongoDB executor drained")
