"""The whole HTTP path: each bot a process polling the local Bot API over HTTP, MongoDB behind
the latency proxy, users registering (/start, then a name) with many in flight. Ours against
the seed's design and the `AsyncMongoClient` + `PyMongoStorage` yardstick
(`bench.reference_bot`); the variants take turns within each run, so they see the same
machine, and each figure is the median of the runs.

The latency bound is what our own sequential round trips allow: with U users in flight and
R rounds per registration at T each, at most U ÷ (R × T) registrations per second.
"""

import statistics
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.bot_processes import OURS, TOKEN, BotProcess, BotProcesses, bot_command, bot_env
from bench.conversing import DATABASE, Talk, label, one_at_a_time, registrations
from bench.critical_path import Span
from bench.database import Database, fresh_database
from bench.local_bot_api import LocalBotApi
from bench.machine_cpu import CpuClock
from bench.mode import Mode
from bench.profiled_process import PROFILE_OUT
from bench.reference_bot import DESIGNS

IN_FLIGHT = 64
DESIGNS_COMPARED = (OURS, *DESIGNS)
T = TypeVar("T")
Row = dict[str, Any]
Say = Callable[[str], None]


@dataclass
class PollingSetup:
    database: Database
    api: LocalBotApi
    bot: BotProcess

    @property
    def talk(self) -> Talk:
        return Talk(self.api)

    def run(self, job: Coroutine[Any, Any, T]) -> T:
        """`job` on the Bot API's loop, given up on if the bot exits meanwhile."""
        return self.api.run(job, check=self.bot.check_running)

    def gap(self, delay: float) -> float:
        """Quiet long enough that a step's last command would have been sent."""
        return 2 * delay + 0.1


def bot_settings(api: LocalBotApi, database: Database, **more: str) -> dict[str, str]:
    """A bot process's environment: replies to `api`, MongoDB at `database`."""
    return bot_env(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api.url,
        MONGO_URI=database.uri,
        MONGO_DB=DATABASE,
        LOG_LEVEL="INFO",  # production's: one line per update
        FLOOD_BURST="10000",  # users are driven faster than flood control allows
        MONGO_OPERATION_TIMEOUT_MS="10000",  # speed is measured here, not timeouts
        CONVERSATION_LEASE_SECONDS="30",  # must outlast two of those timeouts
        **more,
    )


@contextmanager
def polling_bot(
    design: str,
    delay: float | None,
    isolation: str = "local",
    profile_to: Path | None = None,
    **settings: str,
) -> Iterator[PollingSetup]:
    """A fresh database (behind a `delay` proxy), a Bot API and a bot of `design` polling it,
    serving once it has asked for updates, with `settings` in its environment. With
    `profile_to`, ours runs under `bench.profiled_process`, writing its profile there."""
    with (
        fresh_database(delay) as database,
        LocalBotApi(TOKEN) as api,
        tempfile.TemporaryDirectory(prefix="bench-bot-") as folder,
    ):
        env = bot_settings(api, database, EVENT_ISOLATION=isolation, **settings)
        command = bot_command(design)
        if profile_to is not None:
            assert design == OURS, "only a console script runs under the profiler"
            command = [sys.executable, "-m", "bench.profiled_process", *command]
            env[PROFILE_OUT] = str(profile_to)
        bot = BotProcess(command, env, Path(folder), name=design)
        with BotProcesses([bot], lambda _: api.polled.is_set()):
            yield PollingSetup(database, api, bot)


def measure(delay: float, mode: Mode, say: Say) -> Row:
    """Registrations per second of each design, median of `mode.runs` interleaved runs, and
    each design's round trips per step (counted in the first run)."""
    runs: dict[str, list[Row]] = {design: [] for design in DESIGNS_COMPARED}
    counted: dict[str, Row] = {}
    for run in range(mode.runs):
        for design in DESIGNS_COMPARED:
            with polling_bot(design, delay) as setup:
                talk = setup.talk
                # Warm-up, as many at once as measured: clients grow their pools on demand.
                setup.run(registrations(talk, IN_FLIGHT, 1, first_user=9_000_000))
                if run == 0:
                    setup.database.wire.keep_commands = True  # to send them again raw
                    users = [5_000_000 + n for n in range(mode.counted_users)]
                    counted[design] = setup.run(
                        one_at_a_time(talk, setup.database.wire, users, setup.gap(delay))
                    )
                    say(f"  {design:5} one at a time: {_brief(counted[design])}")
                cpu, loop = setup.bot.cpu_seconds(), setup.bot.loop_cpu_seconds()
                clock, mark = CpuClock.now(), setup.database.wire.mark()
                row = setup.run(
                    registrations(talk, IN_FLIGHT, mode.registrations_each, first_user=1)
                )
                machine = CpuClock.now().since(clock)
                row |= command_waits(setup.database.wire.since(mark, DATABASE))
                per = 1000 / row["registrations"]
                row["cpu_ms"] = (setup.bot.cpu_seconds() - cpu) * per
                row["loop_cpu_ms"] = (setup.bot.loop_cpu_seconds() - loop) * per
                row["busy_share"] = machine["busy_share"]
                row["bench_cpu_ms"] = machine["bench_s"] * per
                row["rest_cpu_ms"] = (
                    machine["machine_s"] * per - row["cpu_ms"] - row["bench_cpu_ms"]
                )
                runs[design].append(row)
                say(
                    f"  {design:5} run {run + 1}: {row['reg_s']:.1f} reg/s,"
                    f" p50 {row['p50_ms']:.0f} ms, bot CPU {row['cpu_ms']:.1f} ms per registration"
                    f" ({row['loop_cpu_ms']:.1f} in the event loop's thread),"
                    f" {row['failed']} failed; cores {row['busy_share']:.0%} busy"
                )
    medians = {
        design: {
            "reg_s": statistics.median(r["reg_s"] for r in rows),
            "runs": [r["reg_s"] for r in rows],
            "p50_ms": statistics.median(r["p50_ms"] for r in rows),
            "cpu_ms": statistics.median(r["cpu_ms"] for r in rows),
            "loop_cpu_ms": statistics.median(r["loop_cpu_ms"] for r in rows),
            "busy_share": statistics.median(r["busy_share"] for r in rows),
            "bench_cpu_ms": statistics.median(r["bench_cpu_ms"] for r in rows),
            "rest_cpu_ms": statistics.median(r["rest_cpu_ms"] for r in rows),
            "command_p50_ms": statistics.median(r["command_p50_ms"] for r in rows),
            "command_p90_ms": statistics.median(r["command_p90_ms"] for r in rows),
            "commands_waiting": statistics.median(r["commands_waiting"] for r in rows),
            "failed": sum(r["failed"] for r in rows),
        }
        for design, rows in runs.items()
    }
    ours_rounds = counted[OURS]["registration_rounds"]
    bound = IN_FLIGHT / (ours_rounds * 2 * delay) if ours_rounds else float("inf")
    return {
        "delay_ms": delay * 1000,
        "in_flight": IN_FLIGHT,
        "registrations": IN_FLIGHT * mode.registrations_each,
        "runs": mode.runs,
        "designs": medians,
        "counted": counted,
        "bound_reg_s": bound,
    }


def command_waits(spans: list[Span]) -> Row:
    """How long the commands took from the client's side of the proxy (its delay included),
    and how many were out at once on average: with every user waiting on MongoDB, as many
    as users in flight."""
    if not spans:
        return {"command_p50_ms": float("nan"), "command_p90_ms": float("nan")} | {
            "commands_waiting": 0.0
        }
    took = sorted((s.end - s.start) * 1000 for s in spans)
    first, last = min(s.start for s in spans), max(s.end for s in spans)
    waiting = sum(s.end - s.start for s in spans) / (last - first) if last > first else 0.0
    return {
        "command_p50_ms": statistics.median(took),
        "command_p90_ms": took[int(len(took) * 0.9)],
        "commands_waiting": waiting,
    }


def _brief(row: Row) -> str:
    steps = ", ".join(f"{label(step)} {count}" for step, count in row["rounds"].items())
    return (
        f"round trips {steps} (registration {row['registration_rounds']}),"
        f" p50 {row['p50_ms']:.0f} ms"
    )
