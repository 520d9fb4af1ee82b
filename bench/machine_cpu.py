"""Where a measurement's CPU went on this machine: every core's busy time (/proc/stat) and
the bench's own process (the Bot API stand-in, the latency proxy, the users), so that a
figure limited by the machine rather than by the bot can be told apart."""

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

IDLE_FIELDS = (3, 4)
"""idle and iowait among the `cpu` line's times."""


@dataclass(frozen=True)
class CpuClock:
    wall: float
    busy: float
    """Seconds of CPU time all cores spent not idle."""
    bench: float
    """Seconds of CPU time this process used, all threads."""

    @classmethod
    def now(cls) -> Self:
        times = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = sum(times[i] for i in IDLE_FIELDS)
        busy = (sum(times[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is in user's
        return cls(time.perf_counter(), busy, time.process_time())

    def since(self, earlier: "CpuClock") -> dict[str, float]:
        """Busy share of all cores, and the machine's and the bench's CPU seconds between."""
        wall = self.wall - earlier.wall
        busy = self.busy - earlier.busy
        return {
            "busy_share": busy / (wall * (os.cpu_count() or 1)) if wall > 0 else float("nan"),
            "machine_s": busy,
            "bench_s": self.bench - earlier.bench,
        }
