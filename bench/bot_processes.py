"""Bots as separate processes, started as an operator would: ours (the installed
`profilebot` command) and the reference bots (`bench.reference_bot`), each with a clean
environment, in a folder of its own (no developer's `.env` is read), logging to a file there.
"""

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from infrastructure.embedded_mongo import describe_exit
from infrastructure.settings import Settings

TOKEN = "1:bench-token"
READY_SECONDS = 120.0
STOP_SECONDS = 30.0
REPOSITORY = Path(__file__).resolve().parent.parent
OURS = "ours"


def profilebot_command() -> str:
    """The `profilebot` installed next to this Python: the code under test, not a stray one."""
    found = shutil.which("profilebot", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("the profilebot command is not installed (pip install -e .)")
    return found


def bot_env(**settings: str) -> dict[str, str]:
    """This environment without any profilebot setting (a developer's EVENT_ISOLATION or
    MONGO_URI would change what is measured), plus `settings`."""
    names = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in names} | settings


def bot_command(design: str, mode: str = "polling") -> list[str]:
    """How to start a bot of `design`: ours (`mode` polling or webhook) or a reference bot."""
    if design == OURS:
        return [profilebot_command(), mode]
    return [sys.executable, "-m", "bench.reference_bot", design]


class BotProcess:
    """One bot process; ready once `ready()` says so. Leaving stops it with SIGTERM, as a
    deployment would, so it drains before the database goes."""

    def __init__(
        self, command: list[str], env: dict[str, str], folder: Path, name: str = "bot"
    ) -> None:
        self._command = command
        self._env = env | {"PYTHONPATH": str(REPOSITORY)}  # the reference bots import bench
        self._folder = folder
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self._folder / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> None:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self._command,
                cwd=self._folder,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, ready: Callable[[], bool], deadline: float) -> None:
        """Wait until `ready()`; raise if the process exits first or `deadline` (monotonic)
        passes."""
        while not ready():
            assert self.process is not None, "not started"
            if (code := self.process.poll()) is not None:
                raise RuntimeError(
                    f"{self.name} exited with {describe_exit(code)} before it was ready:\n"
                    + self.tail()
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} never became ready:\n{self.tail()}")
            time.sleep(0.05)

    def check_running(self) -> None:
        """Raise, with the end of its log, if it has exited."""
        assert self.process is not None, "not started"
        if (code := self.process.poll()) is not None:
            raise RuntimeError(f"{self.name} exited with {describe_exit(code)}:\n{self.tail()}")

    def signal_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Wait for the exit (killed if it outstays its drain). An unclean exit is printed
        rather than raised: the figures measured still stand."""
        if self.process is None:
            return
        try:
            code = self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if code != 0:
            print(
                f"  {self.name} stopped with {describe_exit(code)}:\n{self.tail()}",
                file=sys.stderr,
                flush=True,
            )

    def rss_mb(self) -> float:
        """Its resident memory now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU time it has used so far, all its threads."""
        return _cpu_seconds(Path(f"/proc/{self.pid}/stat"))

    def loop_cpu_seconds(self) -> float:
        """The part of it its main thread used (where the bots run their event loop)."""
        return _cpu_seconds(Path(f"/proc/{self.pid}/task/{self.pid}/stat"))

    def send_signal(self, signum: int) -> None:
        assert self.process is not None, "not started"
        self.process.send_signal(signum)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


def _cpu_seconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BotProcesses:
    """Several bot processes, started in parallel (start-up is not what is measured) and
    stopped together: SIGTERM to all at once, then wait for each."""

    def __init__(self, bots: list[BotProcess], ready: Callable[[BotProcess], bool]) -> None:
        self.bots = bots
        self._ready = ready

    def __enter__(self) -> Self:
        try:
            for bot in self.bots:
                bot.start()
            deadline = time.monotonic() + READY_SECONDS
            for bot in self.bots:
                bot.wait_ready(functools.partial(self._ready, bot), deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def check_running(self) -> None:
        for bot in self.bots:
            bot.check_running()

    def stop(self) -> None:
        for bot in self.bots:
            bot.signal_stop()
        for bot in self.bots:
            bot.wait_stopped()
