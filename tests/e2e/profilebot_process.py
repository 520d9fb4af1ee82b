"""Runs the installed `profilebot` command as a separate process, as a user would."""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from infrastructure.settings import Settings


def profilebot_command() -> str:
    found = shutil.which("profilebot", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("the profilebot command is not installed (pip install -e .)")
    return found


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any profilebot setting, plus `settings`."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return env | settings


def run(
    args: list[str], cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run to completion (bounded), capturing output."""
    return subprocess.run(
        [profilebot_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


class BotProcess:
    """`profilebot polling` (or another serving `command`, such as `webhook`) in the
    background; output goes to files in `cwd`. `executable`: another installation's
    `profilebot` (a previous release's) instead of this one's."""

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        name: str = "bot",
        command: str = "polling",
        executable: Path | None = None,
    ) -> None:
        self.log = cwd / f"{name}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(executable or profilebot_command()), command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, count: int = 1, timeout: float = 120) -> None:
        """Wait until `text` has appeared `count` times in the bot's output."""
        wait_until(
            lambda: self.output().count(text) >= count,
            timeout,
            f"{text!r} {count} time(s) in the output:\n{self.output()}",
        )

    def embedded_server(self, timeout: float = 120) -> int:
        """The pid of the bot's one child, the embedded MongoDB server, once it exists."""
        wait_until(lambda: len(live_children(self.pid)) == 1, timeout, "the embedded server")
        [pid] = live_children(self.pid)
        return pid

    def terminate(self, how: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def live_children(pid: int) -> list[int]:
    """Processes whose parent is `pid` and that have not exited (zombies excluded)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            state, parent = stat
            if parent == pid and state != "Z":
                children.append(int(entry.name))
    return children


def is_gone(pid: int) -> bool:
    """Whether process `pid` has exited (a zombie waiting to be reaped counts as gone)."""
    stat = _stat(pid)
    return stat is None or stat[0] == "Z"


def processes_using(path: Path) -> list[int]:
    """Live processes with `path` in their command line (an embedded server's data folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or is_gone(int(entry.name)):
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.fsencode(path) in arguments:
            found.append(int(entry.name))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc/PID/stat, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces and parentheses itself.
    state, parent = text[text.rindex(")") + 2 :].split()[:2]
    return state, int(parent)
