"""Logging to stderr, as readable text or as one JSON object per line (`LOG_FORMAT`), with
secrets scrubbed from every record, tracebacks included, whichever the format."""

import logging
import sys
from collections.abc import Iterable
from typing import Any, Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

from infrastructure.mongo_client import any_client_open
from infrastructure.secrets import redact
from presentation.telegram.middlewares.update_log import current_update_id

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
"""What every `LogRecord` has; anything else on a record came from `extra=` or a filter."""

_PLAIN = (int, float, bool, type(None))


class RedactingFormatter(logging.Formatter):
    """Formats a copy of each record in which every secret is `***`: the message, the
    exception's traceback, the stack and any extra field. One scrubber for every format, and
    it scrubs before formatting: JSON escaping would hide a secret from a search of the
    finished line (a password holding `"` or `\\` is spelt differently there)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._inner.format(self._scrubbed(record))

    def _scrubbed(self, record: logging.LogRecord) -> logging.LogRecord:
        clean = logging.makeLogRecord(vars(record))
        clean.msg, clean.args = self._redact(record.getMessage()), None
        if record.exc_info:
            clean.exc_text = self._redact(self._inner.formatException(record.exc_info))
        elif record.exc_text:
            clean.exc_text = self._redact(record.exc_text)
        clean.exc_info = None
        if record.stack_info:
            clean.stack_info = self._redact(record.stack_info)
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and not isinstance(value, _PLAIN):
                setattr(clean, name, self._redact(str(value)))
        return clean

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


class AggregatorJsonFormatter(JsonFormatter):
    """One JSON object per line: `time` (ISO 8601, UTC), `level`, `logger`, `message`, then
    whatever the record carries (`update_id`, and `outcome` on an update's own line), and
    `exception` with the traceback when there is one."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "stack_info": "stack",
            },
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"time": log_data.pop("time"), **log_data}  # first, for a reader's eye


class UpdateIdFilter(logging.Filter):
    """Stamps each record logged while an update is handled with that update's id, so that
    an aggregator can gather every line of one update (JSON shows it; text does not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "update_id") and (update_id := current_update_id()) is not None:
            record.update_id = update_id
        return True


class OneLineBackgroundErrors(logging.Filter):
    """pymongo logs each failed attempt of its background connection upkeep at ERROR with a
    full traceback. During an outage that floods the log with tracebacks that say nothing
    the apologies' warnings do not; here each is one WARNING line with the error. Once the
    process's clients are closed, such a failure (a last attempt of a closed client's
    thread, against a server stopping after it) is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and not any_client_open():
            return False
        if error is not None:
            record.msg = "MongoDB background connection upkeep failed: %s: %s"
            record.args = (type(error).__name__, error)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def formatter_for(log_format: LogFormat, secrets: Iterable[str]) -> logging.Formatter:
    """The formatter of `LOG_FORMAT`, scrubbing `secrets` from everything it writes."""
    inner = AggregatorJsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    return RedactingFormatter(inner, secrets)


def log_handler(stream: TextIO, log_format: LogFormat, secrets: Iterable[str]) -> logging.Handler:
    """Writes records to `stream` in `log_format`, secrets scrubbed, update ids stamped."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(log_format, secrets))
    handler.addFilter(UpdateIdFilter())
    return handler


def configure_logging(level: str, secrets: Iterable[str], log_format: LogFormat = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(sys.stderr, log_format, secrets)]
    root.setLevel(level)
    # Our `profilebot.updates` line replaces aiogram's own per-update line.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    # pymongo's debug log carries whole commands, user data included: opt in separately.
    logging.getLogger("pymongo").setLevel(max(logging.INFO, root.level))
    background = logging.getLogger("pymongo.client")
    if not any(isinstance(f, OneLineBackgroundErrors) for f in background.filters):
        background.addFilter(OneLineBackgroundErrors())
