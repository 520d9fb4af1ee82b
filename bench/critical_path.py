"""Sequential MongoDB round trips: the critical path a user waits through, not a command count.

Each command is a span from when it left the client to when its answer came back. Spans that
overlap went out together and cost one round; a command sent after the previous answer came
back starts a new one. So `rounds` is what the latency of a step is made of: rounds × the
round-trip time.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """One command, as seen by the client (command monitoring) or by the latency proxy."""

    start: float
    """`time.monotonic()` when it was sent."""
    end: float
    """When its answer reached the client."""
    database: str
    command: str
    """The command's name (`find`, `insert`, `findAndModify`, …)."""
    collection: str
    """The collection it names, or "" for one that names none."""


def rounds(spans: Iterable[Span]) -> int:
    """How many rounds `spans` make: a new one starts with a command sent after every
    earlier command's answer had arrived."""
    count, reach = 0, float("-inf")
    for span in sorted(spans, key=lambda s: s.start):
        if span.start >= reach:
            count += 1
            reach = span.end
        else:
            reach = max(reach, span.end)
    return count
