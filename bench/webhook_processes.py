"""Throughput of separate `profilebot webhook` processes on one database, as deployed behind a
load balancer: whether more processes buy more updates/s once conversation leases in
MongoDB keep them from stepping on each other (EVENT_ISOLATION defaults to `mongo` there).

The processes are the installed command, started as an operator would, with their replies
going to `LocalBotApi` and their updates posted by `WebhookTelegram`.
"""

import asyncio
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.bot_processes import OURS, TOKEN, BotProcess, BotProcesses, bot_command, bot_env
from bench.harness import SCRIPT
from bench.local_bot_api import LocalBotApi
from bench.webhook_delivery import WebhookTelegram
from infrastructure.embedded_mongo import free_loopback_port
from presentation.telegram import texts

SECRET = "bench-webhook-secret"
USERS_EACH = 2
"""Users each of the at-once slots takes through SCRIPT, one after another."""
WARM_UP_USERS = 6
"""Enough that the random balancer reaches every process before the clock starts."""
Row = dict[str, Any]


class WebhookProcesses(BotProcesses):
    """`count` webhook processes, each on a free loopback port, ready once each answers
    /health/ready with 200."""

    def __init__(self, count: int, env: dict[str, str], folder: Path) -> None:
        self.ports = [free_loopback_port() for _ in range(count)]
        bots = [
            BotProcess(
                bot_command(OURS, "webhook"),
                env | {"WEBHOOK_PORT": str(port)},
                folder,
                name=f"webhook{index}",
            )
            for index, port in enumerate(self.ports)
        ]
        super().__init__(bots, lambda bot: _ready(self.ports[self.bots.index(bot)]))

    def webhooks(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/telegram/webhook" for port in self.ports]


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):  # HTTPError (503) included: not ready yet
        return False


def webhook_env(bot_api: LocalBotApi, uri: str, **settings: str) -> dict[str, str]:
    """Webhook processes' settings: replies to `bot_api`, MongoDB at `uri`."""
    return bot_env(
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
        **settings,
    )


def throughput(uri: str, processes: int, at_once: int) -> Row:
    """Updates/s of `processes` webhook processes on the database at `uri`, with `at_once`
    users talking, each sending their next message once the previous was answered."""
    with (
        LocalBotApi(TOKEN) as bot_api,
        tempfile.TemporaryDirectory(prefix="bench-webhook-") as cwd,
        WebhookProcesses(processes, webhook_env(bot_api, uri), Path(cwd)) as started,
    ):
        drive = _drive(started.webhooks(), at_once, bot_api)
        return bot_api.run(drive, check=started.check_running)


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
