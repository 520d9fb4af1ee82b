"""One time budget for all the storage work done on behalf of one request.

A step of the conversation makes up to three storage calls. With a budget per call, a slow
database could keep a user waiting three budgets for an apology, and their next message
waiting behind it. The front end opens a budget per request; adapters take from it whatever
is left (and each call still has its own ceiling).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("storage_deadline", default=None)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Storage calls made inside share `seconds`, counted from now (`time.monotonic`); a
    budget opened inside another never outlasts it."""
    outer = _deadline.get()
    deadline = time.monotonic() + seconds
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def outside_budget() -> Iterator[None]:
    """Storage calls made inside are not the request's, and get only their own ceiling:
    work the user no longer waits for (a write after the reply went out)."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline() -> float | None:
    """The current request's deadline on the `time.monotonic` clock, or None outside one."""
    return _deadline.get()
