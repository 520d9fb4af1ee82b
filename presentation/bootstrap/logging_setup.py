"""Logging to stderr, with secrets scrubbed from every line, tracebacks included."""

import logging
import sys
from collections.abc import Iterable

from infrastructure.secrets import redact


class RedactingFormatter(logging.Formatter):
    """Replaces each secret with `***` in the finished line, whatever logger produced it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class OneLineBackgroundErrors(logging.Filter):
    """pymongo logs each failed attempt of its background connection upkeep at ERROR with a
    full traceback. During an outage that floods the log with tracebacks that say nothing
    the apologies' warnings do not; here each is one WARNING line with the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            record.msg = "MongoDB background connection upkeep failed: %s: %s"
            record.args = (type(error).__name__, error)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our `profilebot.updates` line replaces aiogram's own per-update line.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    # pymongo's debug log carries whole commands, user data included: opt in separately.
    logging.getLogger("pymongo").setLevel(max(logging.INFO, root.level))
    background = logging.getLogger("pymongo.client")
    if not any(isinstance(f, OneLineBackgroundErrors) for f in background.filters):
        background.addFilter(OneLineBackgroundErrors())
