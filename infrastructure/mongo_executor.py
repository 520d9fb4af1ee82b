"""Runs blocking pymongo calls off the event loop, on a thread pool of our own."""

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import pymongo
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from application import time_budget
from application.errors import StorageUnavailable

log = logging.getLogger(__name__)

_GRACE_SECONDS = 0.05
"""Lets pymongo's own timeout error, which says more, win the race at the deadline."""

P = ParamSpec("P")
T = TypeVar("T")


class MongoExecutor:
    """`asyncio.to_thread` for pymongo, with three differences that matter.

    Its pool is sized for I/O and used by nothing else: the loop's default executor has
    only `min(32, cpus + 4)` threads and aiogram runs synchronous filters there too.
    Each call's time budget starts when it is submitted, not when a thread picks it up, so
    a saturated pool cannot stretch an answer past `timeout_seconds`; inside a request's
    `time_budget` it gets no more than what is left of the request's.
    And every driver error leaves as `StorageUnavailable`, so no caller sees pymongo.
    """

    def __init__(self, max_workers: int, timeout_seconds: float) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="mongo")
        self._timeout = timeout_seconds
        self._counts = threading.Lock()
        self._submitted = 0
        self._started = 0
        self._finished = 0
        self.failures = 0
        """Calls that raised `StorageUnavailable` so far: whoever keeps what MongoDB said
        (`RememberedConversations`) can tell that it may have missed something since."""

    @property
    def busy(self) -> int:
        """Threads running a call right now."""
        with self._counts:
            return self._started - self._finished

    @property
    def queued(self) -> int:
        """Calls waiting for a free thread."""
        with self._counts:
            return self._submitted - self._started

    async def run(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Await `call(*args, **kwargs)` run in the pool, with the caller's context vars."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self._timeout
        request_deadline = time_budget.deadline()
        if request_deadline is not None:
            deadline = min(deadline, request_deadline)
        context = contextvars.copy_context()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StorageUnavailable("MongoDB call found its time budget spent before it started")
        future = self._pool.submit(context.run, self._counted, deadline, call, args, kwargs)
        with self._counts:
            self._submitted += 1
        future.add_done_callback(self._uncount_if_never_run)
        try:
            # The thread's pymongo timeout ends a running call at the deadline; this ends the
            # wait of a call still queued then (and takes it off the queue).
            async with asyncio.timeout(remaining + _GRACE_SECONDS):
                return await asyncio.wrap_future(future, loop=loop)
        except TimeoutError:
            self.failures += 1
            raise StorageUnavailable("MongoDB call waited its whole time budget") from None
        except PyMongoError as error:
            self.failures += 1
            raise StorageUnavailable(f"MongoDB call failed: {type(error).__name__}") from error

    def _counted(
        self,
        deadline: float,
        call: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        with self._counts:
            self._started += 1
        try:
            return _within(deadline, call, args, kwargs)
        finally:
            with self._counts:
                self._finished += 1

    def _uncount_if_never_run(self, future: Future[Any]) -> None:
        if future.cancelled():  # its caller gave up while it was still queued
            with self._counts:
                self._submitted -= 1

    def shutdown(self) -> None:
        """Let calls already running finish, drop queued ones, join the threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _within(
    deadline: float, call: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> T:
    """Run `call` with what is left of its budget as pymongo's timeout (retries included)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise StorageUnavailable("MongoDB call found its time budget spent before it started")
    with pymongo.timeout(remaining):
        return call(*args, **kwargs)


def open_mongo_executor(
    max_workers: int, timeout_seconds: float, client: MongoClient[Any]
) -> Iterator[MongoExecutor]:
    """Container resource. It takes `client` only so the container's ordered shutdown
    drains this executor before the client it calls is closed."""
    del client
    executor = MongoExecutor(max_workers, timeout_seconds)
    try:
        yield executor
    finally:
        executor.shutdown()
        log.debug("MongoDB executor drained")
