"""The machinery's own CPU cost: bot-side CPU milliseconds per update, with the database out
of the picture (memory storage on both sides), for a bare aiogram dispatcher with the same
conversation (`bench.reference_bot`, aiogram's `MemoryStorage`) and for ours (our container
and dispatcher, every middleware in, the storage swapped for memory as the fast tests do).

Each measurement is a fresh process (`python -m bench.machinery_cpu bare|ours`), so neither
inherits the other's heap or caches; it prints one JSON line. Updates are built before the
clock starts and answered by a local Bot API session, so what is timed is the dispatcher's
work. `--profile` prints where the time goes instead, grouped by the part of the stack each
function belongs to.
"""

import asyncio
import cProfile
import json
import logging
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bench.bot_processes import REPOSITORY
from bench.harness import SCRIPT
from bench.mode import Mode
from bench.profile_parts import split
from bench.reference_bot import bare_dispatcher
from presentation.bootstrap.logging_setup import configure_logging
from presentation.entrypoints.terminal.chat import local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession

DESIGNS = ("bare", "ours")
WORKLOAD = [*SCRIPT, "/help"]
"""Each user's updates: register, look, rename, start renaming again and cancel, help."""
LANES = 16
"""Users served at once: one user's updates in order, different users' interleaved."""
WARM_UP_USERS = 20
Row = dict[str, Any]
Say = Callable[[str], None]


def updates(first_user: int, users: int) -> list[list[Update]]:
    """Every user's updates, in order; built up front."""
    next_id = iter(range(first_user * 10, first_user * 10 + users * 10 * len(WORKLOAD)))
    return [
        [local_update(next(next_id), user, text.format(name=f"User {user}")) for text in WORKLOAD]
        for user in range(first_user, first_user + users)
    ]


async def feed(dispatcher: Dispatcher, bot: Bot, work: list[list[Update]]) -> int:
    """Feed `work` through `LANES` lanes; updates fed."""

    async def lane(index: int) -> int:
        fed = 0
        for user_updates in work[index::LANES]:
            for update in user_updates:
                await dispatcher.feed_update(bot, update)
                fed += 1
        return fed

    return sum(await asyncio.gather(*(lane(i) for i in range(LANES))))


Built = tuple[Dispatcher, Bot, Callable[[], None]]


def build(design: str) -> Built:
    """The dispatcher and bot of `design`, and how to stop them; logging as in production
    (INFO, one line per update, to stderr)."""
    requests: list[TelegramMethod[Any]] = []
    session = LocalBotSession(requests.append)
    if design == "bare":
        logging.basicConfig(level=logging.INFO)
        return bare_dispatcher(), Bot("1:bench-token", session=session), requests.clear
    from dependency_injector import providers  # noqa: PLC0415

    from infrastructure.settings import Settings  # noqa: PLC0415
    from presentation.bootstrap import lifecycle  # noqa: PLC0415
    from presentation.bootstrap.container import Container  # noqa: PLC0415
    from tests.conversations.conftest import InMemoryStorage  # noqa: PLC0415

    settings = Settings(_env_file=None, bot_token="1:bench-token", flood_burst=10_000)
    configure_logging(settings.log_level, settings.secrets())
    container = Container(settings=settings)
    container.bot_session.override(providers.Object(session))
    container.storage.override(InMemoryStorage())
    lifecycle.start(container)
    return container.dispatcher(), container.bot(), lambda: lifecycle.stop(container)


def run(design: str, users: int) -> Row:
    dispatcher, bot, stop = build(design)
    try:
        return asyncio.run(_measured(dispatcher, bot, users))
    finally:
        stop()


async def _measured(
    dispatcher: Dispatcher, bot: Bot, users: int, profiler: cProfile.Profile | None = None
) -> Row:
    """CPU and wall time per update over `users` users' updates, after a warm-up."""
    warm_up, work = updates(1, WARM_UP_USERS), updates(1 + WARM_UP_USERS, users)
    await feed(dispatcher, bot, warm_up)
    if profiler is not None:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    fed = await feed(dispatcher, bot, work)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.disable()
    return {"cpu_ms": cpu * 1000 / fed, "wall_ms": wall * 1000 / fed, "updates": fed}


def profile(design: str, users: int) -> Row:
    """CPU time per update by part of the stack (each function's own time, not its
    callees'), and the functions that take most."""
    dispatcher, bot, stop = build(design)
    # The default clock: nothing here waits, so its time is CPU time, and the CPU clock
    # would cost more than most functions measured.
    profiler = cProfile.Profile()
    try:
        fed = asyncio.run(_measured(dispatcher, bot, users, profiler))["updates"]
    finally:
        stop()
    return split(pstats.Stats(profiler), fed) | {"updates": fed}


def in_subprocess(design: str, users: int, *, profiled: bool = False) -> Row:
    """One measurement in a fresh process (its stderr, the update log, is dropped)."""
    command = [sys.executable, "-m", "bench.machinery_cpu", design, str(users)]
    done = subprocess.run(
        [*command, *(["--profile"] if profiled else [])],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


def measure(mode: Mode, say: Say) -> Row:
    """CPU per update of each design, median of `mode.cpu_runs` interleaved runs, and a
    profile of each."""
    runs: dict[str, list[float]] = {design: [] for design in DESIGNS}
    for run in range(mode.cpu_runs):
        for design in DESIGNS:
            runs[design].append(in_subprocess(design, mode.cpu_users)["cpu_ms"])
        figures = ", ".join(f"{design} {runs[design][-1]:.3f} ms" for design in DESIGNS)
        say(f"  run {run + 1}: {figures} CPU per update")
    profiles = {design: in_subprocess(design, mode.cpu_users, profiled=True) for design in DESIGNS}
    return {
        "cpu_ms": {design: statistics.median(values) for design, values in runs.items()},
        "runs": runs,
        "updates": mode.cpu_users * len(WORKLOAD),
        "profiles": profiles,
    }


def main() -> int:
    design, users = sys.argv[1], int(sys.argv[2])
    if design not in DESIGNS:
        print(f"usage: python -m bench.machinery_cpu {'|'.join(DESIGNS)} USERS [--profile]")
        return 2
    job = profile if "--profile" in sys.argv[3:] else run
    print(json.dumps(job(design, users)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
