"""The system clock, at the precision MongoDB stores."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds so a stored timestamp reads back equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
