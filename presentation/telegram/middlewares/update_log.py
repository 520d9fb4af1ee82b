"""One structured log line per update: id, user, handler, outcome, duration; and the same
record for whoever else observes updates (metrics).

Never the message text: what users type stays out of the logs.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import ErrorEvent, TelegramObject, Update

log = logging.getLogger("profilebot.updates")

TRACE_KEY = "update_trace"

_current_update: ContextVar[int | None] = ContextVar("profilebot_update_id", default=None)


def current_update_id() -> int | None:
    """The id of the update being handled in this task (and the tasks it started), if any:
    the logging setup stamps it on every line logged meanwhile."""
    return _current_update.get()


@dataclass
class UpdateTrace:
    """Filled in by the middlewares and handlers an update passes through."""

    handler: str = "-"
    outcome: str | None = None


def set_outcome(data: Mapping[str, Any], outcome: str) -> None:
    """Say how the update ended, for its log line and record: `duplicate`, `throttled`,
    `ignored`, `refused`, `error:<class>`. Does nothing for an update `UpdateLog` does not trace."""
    trace = data.get(TRACE_KEY)
    if isinstance(trace, UpdateTrace):
        trace.outcome = outcome


def forget_outcome(data: Mapping[str, Any]) -> None:
    """Before an update is handled again: how the failed try ended is not how it ends."""
    trace = data.get(TRACE_KEY)
    if isinstance(trace, UpdateTrace):
        trace.outcome = None


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """How one update went, without anything the user wrote or who they are."""

    kind: str
    """The update's type (`message`, …), or `unknown`."""
    outcome: str
    """`ok`, `ignored`, `duplicate`, `throttled`, `refused`, `cancelled` or
    `error:<exception class>`."""
    seconds: float


UpdateObserver = Callable[[UpdateRecord], None]


class UpdateLog(BaseMiddleware):
    """Outer update middleware; writes the line once the update is done, however it ended,
    and hands its record to each observer."""

    def __init__(self, observers: Sequence[UpdateObserver] = ()) -> None:
        self._observers = tuple(observers)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        trace = data[TRACE_KEY] = UpdateTrace()
        started = time.perf_counter()
        current = _current_update.set(event.update_id if isinstance(event, Update) else None)
        try:
            result = await handler(event, data)
        except asyncio.CancelledError:
            trace.outcome = "cancelled"
            raise
        except Exception as error:
            trace.outcome = f"error:{type(error).__name__}"
            raise
        else:
            if trace.outcome is None:
                trace.outcome = "ignored" if result is UNHANDLED else "ok"
            return result
        finally:
            seconds = time.perf_counter() - started
            _log_update(event, data, trace, seconds)
            _current_update.reset(current)
            record = UpdateRecord(kind=_kind(event), outcome=trace.outcome or "ok", seconds=seconds)
            for observe in self._observers:
                observe(record)


class HandlerName(BaseMiddleware):
    """Inner middleware for every event type: records which handler took the update, or
    which error the errors router answered; at DEBUG, logs when the handler ran on the
    system-wide monotonic clock, so the runs of several processes can be compared."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        trace = data.get(TRACE_KEY)
        if isinstance(event, ErrorEvent):
            set_outcome(data, f"error:{type(event.exception).__name__}")
        elif isinstance(trace, UpdateTrace) and isinstance(
            chosen := data.get("handler"), HandlerObject
        ):
            trace.handler = getattr(chosen.callback, "__name__", "?")
        if not log.isEnabledFor(logging.DEBUG):
            return await handler(event, data)
        entered = time.monotonic()
        try:
            return await handler(event, data)
        finally:
            update = data.get("event_update")
            log.debug(
                "handler ran: update=%s from=%.6f to=%.6f",
                update.update_id if isinstance(update, Update) else "-",
                entered,
                time.monotonic(),
            )


def _log_update(
    event: TelegramObject, data: dict[str, Any], trace: UpdateTrace, seconds: float
) -> None:
    update_id = event.update_id if isinstance(event, Update) else None
    user = data.get("event_from_user")
    fields = {
        "update_id": update_id,
        "update_type": _kind(event),
        "user_id": user.id if user is not None else None,
        "handler": trace.handler,
        "outcome": trace.outcome,
        "duration_ms": round(seconds * 1000, 1),
    }
    log.info(
        "update=%s type=%s user=%s handler=%s outcome=%s duration_ms=%.1f",
        *("-" if value is None else value for value in fields.values()),
        extra=fields,  # the same, as fields of their own for LOG_FORMAT=json
    )


def _kind(event: TelegramObject) -> str:
    return event.event_type if isinstance(event, Update) and _has_type(event) else "unknown"


def _has_type(update: Update) -> bool:
    try:
        update.event_type  # noqa: B018 - raises for update types this aiogram does not know
    except Exception:
        return False
    return True
