"""What several processes serving the same users cost: each step under conversation leases
(`EVENT_ISOLATION=mongo`), against one process on its own locks (the whole-HTTP-path figures
of `bench.http_path`). Measured with the same database latency: one polling process under
leases, and webhook replicas behind a stand-in for Telegram and a load balancer
(`WebhookTelegram`, which posts a user's next update once the previous one was answered).
"""

import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.bot_processes import OURS, TOKEN
from bench.conversing import Talk, one_at_a_time, registrations
from bench.database import Database, fresh_database
from bench.http_path import IN_FLIGHT, bot_settings, polling_bot
from bench.local_bot_api import LocalBotApi
from bench.mode import Mode
from bench.webhook_delivery import WebhookTelegram
from bench.webhook_processes import SECRET, WebhookProcesses

REPLICAS = 2
T = TypeVar("T")
Row = dict[str, Any]
Say = Callable[[str], None]


@dataclass
class WebhookSetup:
    database: Database
    api: LocalBotApi
    replicas: WebhookProcesses

    def run(self, job: Coroutine[Any, Any, T]) -> T:
        """`job` on the Bot API's loop, given up on if a replica exits meanwhile."""
        return self.api.run(job, check=self.replicas.check_running)


@contextmanager
def webhook_replicas(count: int, delay: float) -> Iterator[WebhookSetup]:
    with (
        fresh_database(delay) as database,
        LocalBotApi(TOKEN) as api,
        tempfile.TemporaryDirectory(prefix="bench-replicas-") as folder,
    ):
        env = bot_settings(
            api,
            database,
            EVENT_ISOLATION="mongo",
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_SECRET=SECRET,
        )
        with WebhookProcesses(count, env, Path(folder)) as replicas:
            yield WebhookSetup(database, api, replicas)


async def _through_webhooks(setup: WebhookSetup, mode: Mode, gap: float) -> tuple[Row, Row]:
    """Round trips one user at a time, then registrations with many in flight."""
    async with AsyncExitStack() as stack:
        telegram = await stack.enter_async_context(
            WebhookTelegram(setup.replicas.webhooks(), SECRET)
        )
        talk = Talk(setup.api, telegram.deliver)
        await registrations(talk, IN_FLIGHT, 1, first_user=9_000_000)  # warm-up
        users = [5_000_000 + n for n in range(mode.counted_users)]
        counted = await one_at_a_time(talk, setup.database.wire, users, gap)
        loaded = await registrations(talk, IN_FLIGHT, mode.registrations_each, first_user=1)
    return counted, loaded


def measure(delay: float, mode: Mode, say: Say) -> Row:
    """Under leases: one polling process, and `REPLICAS` webhook processes."""
    gap = 2 * delay + 0.1
    found: dict[str, Row] = {}
    with polling_bot(OURS, delay, isolation="mongo") as polling:
        polling.run(registrations(polling.talk, IN_FLIGHT, 1, first_user=9_000_000))
        users = [5_000_000 + n for n in range(mode.counted_users)]
        counted = polling.run(one_at_a_time(polling.talk, polling.database.wire, users, gap))
        loaded = polling.run(
            registrations(polling.talk, IN_FLIGHT, mode.registrations_each, first_user=1)
        )
        found["polling, leases"] = {"counted": counted, "loaded": loaded}
    with webhook_replicas(REPLICAS, delay) as webhooks:
        counted, loaded = webhooks.run(_through_webhooks(webhooks, mode, gap))
        found[f"{REPLICAS} webhook replicas, leases"] = {"counted": counted, "loaded": loaded}
    for setup, row in found.items():
        say(
            f"  {setup}: registration {row['counted']['registration_rounds']} round trips,"
            f" /help {row['counted']['rounds']['/help']}, p50 {row['counted']['p50_ms']:.0f} ms"
            f" one at a time; {row['loaded']['reg_s']:.1f} reg/s at {IN_FLIGHT} in flight,"
            f" {row['loaded']['failed']} failed"
        )
    return {"delay_ms": delay * 1000, "modes": found}
