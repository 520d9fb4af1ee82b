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
