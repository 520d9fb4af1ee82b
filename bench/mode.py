"""How much work `make bench` does: the full run that results.md records, or a quick one
(`BENCH_QUICK=1`) that only shows the harness works, its figures too rough to quote."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    runs: int
    """Runs of each timed comparison; the median is reported."""
    registrations_each: int
    """Registrations each in-flight user slot makes, one after another."""
    counted_users: int
    """Users whose steps' round trips are counted, one at a time, at 50 ms."""
    growth_users: int
    """Users registering one at a time for the growth comparison's p50 (local database)."""
    cpu_users: int
    """Users whose updates the CPU comparison feeds (8 updates each)."""
    cpu_runs: int
    """Runs of the CPU comparison (a few seconds each); the median is reported."""
    stored: tuple[int, int]
    """Users stored before a registration's cost is measured, fewer then more."""
    served: tuple[int, int]
    """Distinct users served before the bot's memory is read, fewer then more: both past
    `bench.growth.RECENT_USERS_KEPT`, so what grows between them is what has no cap."""
    load_seconds: float
    """How long the in-process responsiveness load runs."""
    webhook_levels: tuple[int, ...]
    """Users at once for the webhook scaling comparison."""
    chat_exits: int
    """Piped terminal chats timed from answer to exit; the median is reported."""


FULL = Mode(
    "full",
    runs=3,
    registrations_each=3,
    counted_users=4,
    growth_users=20,
    cpu_users=250,
    cpu_runs=5,
    # Not 100k: the test server's upsert scans the collection (see bench.growth), and at
    # 100k users its writes fell minutes behind a user registering one at a time.
    stored=(1_000, 20_000),
    served=(2_000, 5_000),
    load_seconds=6.0,
    webhook_levels=(8, 32),
    chat_exits=5,
)
QUICK = Mode(
    "quick",
    runs=1,
    registrations_each=1,
    counted_users=2,
    growth_users=6,
    cpu_users=100,
    cpu_runs=1,
    stored=(1_000, 5_000),
    served=(1_000, 2_000),
    load_seconds=2.0,
    webhook_levels=(8,),
    chat_exits=2,
)


def current() -> Mode:
    return QUICK if os.environ.get("BENCH_QUICK", "") not in ("", "0") else FULL
