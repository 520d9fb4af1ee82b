"""Logging to stderr, with secrets scrubbed from every line, tracebacks included."""

import logging
import sys
from collections.abc import Iterable


class RedactingFormatter(logging.Formatter):
    """Replaces each secret with `***` in the finished line, whatever logger produced it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        # Longest first, so a URI is masked whole before the password inside it.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


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
