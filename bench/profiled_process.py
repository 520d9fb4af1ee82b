"""Runs a console script (the installed `profilebot`) with cProfile switched on and off from
outside: SIGUSR1 starts profiling its main thread (the event loop), SIGUSR2 stops and writes
the profile to BENCH_PROFILE_OUT. So a bench profiles a bot process in its steady state,
without its start-up, while it serves over HTTP.

    python -m bench.profiled_process /path/to/profilebot polling
"""

import cProfile
import os
import runpy
import signal
import sys
import time
from types import FrameType

PROFILE_OUT = "BENCH_PROFILE_OUT"


def main() -> None:
    # The thread's own CPU clock: a wall clock would count the loop's idle waits and its
    # waits for the GIL (which the executor's threads hold now and then) as work.
    profiler = cProfile.Profile(time.thread_time)
    out = os.environ[PROFILE_OUT]

    def start(_: int, __: FrameType | None) -> None:
        profiler.enable()

    def stop(_: int, __: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out + ".partial")
        os.replace(out + ".partial", out)  # whole when it appears

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    script, *arguments = sys.argv[1:]
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
