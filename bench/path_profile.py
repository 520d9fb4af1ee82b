"""Where our bot process's CPU goes on the whole HTTP path: the polling bot of
`bench.http_path` run under `bench.profiled_process`, its event loop's thread profiled only
while users register (start-up and warm-up left out), by part of the stack per
registration. The executor's threads (the blocking pymongo calls) are not profiled; their
share is the process's CPU time less the loop thread's."""

import pstats
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bot_processes import OURS
from bench.conversing import registrations
from bench.http_path import IN_FLIGHT, polling_bot
from bench.mode import Mode
from bench.profile_parts import split

Row = dict[str, Any]
Say = Callable[[str], None]


def measure(delay: float, mode: Mode, say: Say) -> Row:
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        out = Path(folder) / "bot.prof"
        with polling_bot(OURS, delay, profile_to=out) as setup:
            setup.run(registrations(setup.talk, IN_FLIGHT, 1, first_user=9_000_000))
            cpu, loop = setup.bot.cpu_seconds(), setup.bot.loop_cpu_seconds()
            setup.bot.send_signal(signal.SIGUSR1)
            row = setup.run(
                registrations(setup.talk, IN_FLIGHT, mode.registrations_each, first_user=1)
            )
            setup.bot.send_signal(signal.SIGUSR2)
            cpu, loop = setup.bot.cpu_seconds() - cpu, setup.bot.loop_cpu_seconds() - loop
            deadline = time.monotonic() + 60
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        found = split(pstats.Stats(str(out)), row["registrations"])
    per = 1000 / row["registrations"]
    say(
        f"  {row['reg_s']:.1f} reg/s under the profiler; CPU {cpu * per:.1f} ms per registration,"
        f" {loop * per:.1f} in the event loop's thread"
    )
    for part, ms in list(found["parts"].items())[:8]:
        say(f"    {ms:6.2f} ms  {part}")
    return found | {
        "registrations": row["registrations"],
        "cpu_ms": cpu * per,
        "loop_cpu_ms": loop * per,
        "delay_ms": delay * 1000,
    }
