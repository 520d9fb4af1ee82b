"""Runs the installed `profilebot` command as a separate process, as a user would."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path


def profilebot_command() -> str:
    found = shutil.which("profilebot", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("the profilebot command is not installed (pip install -e .)")
    return found


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any profilebot setting, plus `settings`."""
    names = {
        "BOT_TOKEN",
        "TELEGRAM_API_URL",
        "MONGO_URI",
        "MONGO_DB",
        "LOG_LEVEL",
        "EMBEDDED_MONGO_PATH",
        "MONGO_CONNECT_TIMEOUT_SECONDS",
        "FLOOD_BURST",
    }
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
    """`profilebot polling` in the background; output goes to files in `cwd`."""

    def __init__(self, cwd: Path, env: dict[str, str], name: str = "bot") -> None:
        self.log = cwd / f"{name}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [profilebot_command(), "polling"],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, how: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
