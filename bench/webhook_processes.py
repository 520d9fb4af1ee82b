"""Throughput of separate `profilebot webhook` processes on one database, as deployed behind a
load balancer: whether more processes buy more updates/s once conversation leases in
MongoDB keep them from stepping on each other (EVENT_ISOLATION defaults to `mongo` there).

The processes are the installed command, started as an operator would, with their replies
going to `LocalBotApi` and their updates posted by `WebhookTelegram`.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import SCRIPT
from bench.local_bot_api import LocalBotApi
from bench.webhook_delivery import WebhookTelegram
from infrastructure.embedded_mongo import describe_exit, free_loopback_port
from infrastructure.settings import Settings
from presentation.telegram import texts

TOKEN = "1:bench-token"
SECRET = "bench-webhook-secret"
USERS_EACH = 2
"""Users each of the at-once slots takes through SCRIPT, one after another."""
WARM_UP_USERS = 6
"""Enough that the random balancer reaches every process before the clock starts."""
READY_SECONDS = 120.0
STOP_SECONDS = 30.0
Row = dict[str, Any]


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


class WebhookProcesses:
    """`count` webhook processes, each on a free loopback port, started in parallel (start-up
    is not what is measured) and ready once each answers /health/ready with 200. Leaving
    stops them with SIGTERM, as a deployment would, so they drain before the server goes."""

    def __init__(self, count: int, env: dict[str, str], cwd: Path) -> None:
        self._count = count
        self._env = env
        self._cwd = cwd
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def webhooks(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/telegram/webhook" for port in self.ports]

    def __enter__(self) -> "WebhookProcesses":
        command = profilebot_command()
        try:
            for index in range(self._count):
                port = free_loopback_port()
                with self._log(index).open("wb") as output:
                    self.processes.append(
                        subprocess.Popen(
                            [command, "webhook"],
                            cwd=self._cwd,  # no .env of the developer's is read
                            env=self._env | {"WEBHOOK_PORT": str(port)},
                            stdin=subprocess.DEVNULL,
                            stdout=output,
                            stderr=subprocess.STDOUT,
                        )
                    )
                self.ports.append(port)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM to all at once, then wait; one that outstays its drain is killed. An
        unclean exit is printed rather than raised: the figures measured still stand."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for index, process in enumerate(self.processes):
            try:
                code = process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            if code != 0:
                print(
                    f"  webhook process {index} stopped with {describe_exit(code)}:\n"
                    + self._tail(index),
                    file=sys.stderr,
                    flush=True,
                )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        waiting = set(range(self._count))
        while waiting:
            for index in sorted(waiting):
                code = self.processes[index].poll()
                if code is not None:
                    raise RuntimeError(
                        f"webhook process {index} exited with {describe_exit(code)}"
                        f" before it was ready:\n{self._tail(index)}"
                    )
                if _ready(self.ports[index]):
                    waiting.discard(index)
            if waiting:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"webhook processes {sorted(waiting)} never became ready")
                time.sleep(0.1)

    def _log(self, index: int) -> Path:
        return self._cwd / f"webhook{index}.log"

    def _tail(self, index: int) -> str:
        return self._log(index).read_text(errors="replace")[-2000:]


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):  # HTTPError (503) included: not ready yet
        return False


def throughput(uri: str, processes: int, at_once: int) -> Row:
    """Updates/s of `processes` webhook processes on the database at `uri`, with `at_once`
    users talking, each sending their next message once the previous was answered."""
    with (
        LocalBotApi(TOKEN) as bot_api,
        tempfile.TemporaryDirectory(prefix="bench-webhook-") as cwd,
    ):
        env = bot_env(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=bot_api.url,
            MONGO_URI=uri,
            MONGO_DB="bench",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_SECRET=SECRET,
            LOG_LEVEL="WARNING",
            FLOOD_BURST="10000",  # users are driven faster than flood control allows
            MONGO_OPERATION_TIMEOUT_MS="10000",  # speed is measured here, not timeouts
            CONVERSATION_LEASE_SECONDS="30",  # must outlast two of those timeouts
        )
        with WebhookProcesses(processes, env, Path(cwd)) as started:
            return asyncio.run(_drive(started.webhooks(), at_once, bot_api))


async def _drive(webhooks: list[str], at_once: int, bot_api: LocalBotApi) -> Row:
    async with WebhookTelegram(webhooks, SECRET) as telegram:
        await _conversations(telegram, WARM_UP_USERS, 1, first_user=9_000_000)
        attempts_before, replies_before = len(telegram.attempts), len(bot_api.replies)
        started = time.perf_counter()
        sent = await _conversations(telegram, at_once, USERS_EACH, first_user=1)
        seconds = time.perf_counter() - started
        measured = telegram.attempts[attempts_before:]
    replies = bot_api.replies[replies_before:]
    return {
        "updates_s": sent / seconds,
        "updates": sent,
        "non_2xx": sum(a.status is None or not 200 <= a.status < 300 for a in measured),
        "apologies": sum(texts.storage_unavailable() in reply for reply in replies),
    }


async def _conversations(
    telegram: WebhookTelegram, at_once: int, users_each: int, first_user: int
) -> int:
    """`at_once` slots each take `users_each` users through SCRIPT; updates answered."""

    async def slot(index: int) -> int:
        sent = 0
        for n in range(users_each):
            user = first_user + index * users_each + n
            script = [text.format(name=f"User {user}") for text in SCRIPT]
            sent += len(await telegram.converse(user, script))
        return sent

    return sum(await asyncio.gather(*(slot(i) for i in range(at_once))))
