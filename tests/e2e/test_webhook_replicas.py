"""Three `profilebot webhook` processes on one MongoDB, fed by a stand-in for Telegram and a
load balancer that posts every attempt to a random process and delivers again on anything
but a 2xx: one user's updates run one at a time and in order, each has its effect once,
and a process killed -9 mid-run leaves nothing half done."""

import asyncio
import itertools
import os
import re
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from application.profile import UserProfile
from bench.webhook_delivery import Attempt, WebhookTelegram, text_update
from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port
from infrastructure.mongo_client import Document
from infrastructure.mongo_user_repository import user_from_document
from presentation.telegram import texts
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.mongo, pytest.mark.timeout(600)]

SECRET = "replicas-webhook-secret"
LEASE_SECONDS = 7.0
OPERATION_TIMEOUT_MS = 3000
"""Production's budget per update: three processes, the test server and the test share two
cores here, and a loaded machine must not turn a slow call into an apology."""
REPLICAS = 3
AT_ONCE = 24
"""Users talking at the same moment: what three processes, the test server and the test
itself share two cores with. Far more, and MongoDB calls queue past their timeout, so the
users get apologies instead of a conversation (which is tested elsewhere)."""
HANDLER_RAN = re.compile(r"handler ran: update=(\d+) from=([\d.]+) to=([\d.]+)")


@dataclass
class Replica:
    port: int
    process: BotProcess
    started: float
    """`time.monotonic()` when this incarnation became ready."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Replicas:
    """The processes, each on a port of its own; one can be killed and started again."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._cwd = cwd
        self._env = env
        self._launched = 0
        self.all: list[BotProcess] = []
        self.live = [self._launch(free_loopback_port()) for _ in range(REPLICAS)]
        for replica in self.live:
            replica.started = _wait_ready(replica)

    def webhooks(self) -> list[str]:
        return [f"{r.url}/telegram/webhook" for r in self.live]

    def kill(self, index: int) -> float:
        """Kill -9 one process; the moment just before."""
        killed_at = time.monotonic()
        os.kill(self.live[index].process.pid, signal.SIGKILL)
        self.live[index].process.process.wait(10)
        return killed_at

    def restart(self, index: int) -> None:
        self.live[index] = self._launch(self.live[index].port)

    def wait_ready(self, index: int) -> None:
        self.live[index].started = _wait_ready(self.live[index])

    def stop(self) -> None:
        for process in self.all:
            if process.process.poll() is None:
                process.process.send_signal(signal.SIGTERM)
        for process in self.all:
            process.process.wait(30)

    def _launch(self, port: int) -> Replica:
        self._launched += 1
        env = self._env | {"WEBHOOK_PORT": str(port)}
        process = BotProcess(self._cwd, env, name=f"webhook{self._launched}", command="webhook")
        self.all.append(process)
        return Replica(port, process, started=float("inf"))


def _wait_ready(replica: Replica) -> float:
    def ready() -> bool:
        assert replica.process.process.poll() is None, replica.process.output()
        try:
            return _get(f"{replica.url}/health/ready")[0] == 200
        except OSError:
            return False

    wait_until(ready, 120, f"replica on {replica.port} ready")
    return time.monotonic()


def _get(url: str) -> tuple[int, str]:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(BOT_TOKEN) as api:
        yield api


@pytest.fixture(scope="module")
def replicas(
    bot_api: FakeBotApi,
    mongo_server: EmbeddedMongo,
    mongo_client: MongoClient[Document],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replicas]:
    database = "test_webhook_replicas"
    env = clean_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        MONGO_URI=mongo_server.uri,
        MONGO_DB=database,
        MONGO_OPERATION_TIMEOUT_MS=str(OPERATION_TIMEOUT_MS),
        CONVERSATION_LEASE_SECONDS=str(LEASE_SECONDS),
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_SECRET=SECRET,
        LOG_LEVEL="DEBUG",
    )  # EVENT_ISOLATION unset: webhook's default, leases in MongoDB
    started = Replicas(tmp_path_factory.mktemp("replicas"), env)
    yield started
    started.stop()
    mongo_client.drop_database(database)


def _users(mongo_client: MongoClient[Document]) -> list[Document]:
    """Every stored user document: a user stored twice would show up twice."""
    return list(mongo_client["test_webhook_replicas"]["users"].find({}, {"_id": False}))


def _handler_runs(replicas: Replicas) -> dict[int, list[tuple[float, float]]]:
    """Every handler run in every process, by update id."""
    runs: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for process in replicas.all:
        for update_id, start, end in HANDLER_RAN.findall(process.output()):
            runs[int(update_id)].append((float(start), float(end)))
    return runs


def _overlaps(spans: list[tuple[float, float]]) -> list[tuple[tuple[float, float], ...]]:
    ordered = sorted(spans)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[0] < a[1]]


def _collapsed(replies: list[str]) -> list[str]:
    """Replies with immediate repeats removed: an update delivered again after its process
    died between replying and recording it is answered again, as the user was owed."""
    return [r for i, r in enumerate(replies) if i == 0 or r != replies[i - 1]]


def _updates_counted(replica: Replica) -> float:
    status, body = _get(f"{replica.url}/metrics")
    assert status == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        if family.name == "profilebot_updates"
        for sample in family.samples
        if sample.name == "profilebot_updates_total"
    )


def script(user: int) -> list[str]:
    return ["/start", f"User {user}", "/me", "/rename", f"User {user} II", "/cancel"]


async def test_two_hundred_users_across_three_processes_one_killed_mid_run(
    replicas: Replicas, bot_api: FakeBotApi, mongo_client: MongoClient[Document]
) -> None:
    users = range(1000, 1200)
    killed_at = float("inf")

    async with WebhookTelegram(replicas.webhooks(), SECRET, answer_timeout=30) as telegram:

        async def kill_and_restart() -> None:
            nonlocal killed_at
            total = len(users) * len(script(0))
            while sum(a.status == 200 for a in telegram.attempts) < total // 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            killed_at = await asyncio.to_thread(replicas.kill, 1)
            await asyncio.sleep(1)
            replicas.restart(1)
            await asyncio.to_thread(replicas.wait_ready, 1)

        turns = asyncio.Semaphore(AT_ONCE)

        async def converse(user: int) -> list[int]:
            async with turns:
                return await telegram.converse(user, script(user))

        killer = asyncio.create_task(kill_and_restart())
        sent = await asyncio.gather(*(converse(user) for user in users))
        await killer
        attempts = telegram.attempts

    conversations = dict(zip(users, sent, strict=True))
    assert not any(texts.storage_unavailable() in bot_api.replies_to(user) for user in users)
    # Every user registered exactly once (one document each) and renamed once.
    stored = [u for u in _users(mongo_client) if u["telegram_id"] in users]
    assert sorted(u["telegram_id"] for u in stored) == list(users)
    assert {u["telegram_id"]: u["name"] for u in stored} == {u: f"User {u} II" for u in users}
    profiles = {u["telegram_id"]: UserProfile.of(user_from_document(u)) for u in stored}
    by_update: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_update[attempt.update_id].append(attempt)
    for user, update_ids in conversations.items():
        # Each user's replies in the order of their messages; an answer repeated only for
        # an update whose first delivery failed.
        replies = bot_api.replies_to(user)
        assert _collapsed(replies) == [
            texts.ask_name(),
            texts.registered(f"User {user}"),
            texts.profile(replace(profiles[user], name=f"User {user}")),  # before the rename
            texts.ask_new_name(f"User {user}"),
            texts.renamed(f"User {user} II"),
            texts.nothing_to_cancel(),
        ]
        delivered_again = sum(len(by_update[u]) > 1 for u in update_ids)
        assert len(replies) <= len(update_ids) + delivered_again, (user, replies)
    # No update ran its handler twice at once, and none ran after another finished it.
    runs = _handler_runs(replicas)
    for user, update_ids in conversations.items():
        spans = [span for u in update_ids for span in runs[u]]
        assert _overlaps(spans) == [], user
        assert all(len(runs[u]) == 1 or len(by_update[u]) > 1 for u in update_ids), user

    # Updates cut off by the kill were finished elsewhere once the dead lease ran out.
    cut_off = {
        a.update_id
        for a in attempts
        if a.endpoint == 1 and a.status is None and a.started < killed_at <= a.ended
    }
    assert cut_off, "the kill caught no update in flight"
    finished = [next(a.ended for a in by_update[u] if a.status == 200) - killed_at for u in cut_off]
    print(
        f"\n{len(cut_off)} updates in flight at the kill; finished {min(finished):.2f} to"
        f" {max(finished):.2f} s after it (lease {LEASE_SECONDS:g} s)"
    )
    assert max(finished) < LEASE_SECONDS + 10

    # Each live process counted exactly the updates it answered.
    for index, replica in enumerate(replicas.live):
        answered = sum(
            1
            for a in attempts
            if a.endpoint == index
            and a.status is not None
            and a.started >= replica.started - 5
            and (index != 1 or a.started > killed_at)
        )
        assert _updates_counted(replica) == answered, index


async def test_copies_and_concurrent_updates_of_one_user_never_overlap_and_act_once(
    replicas: Replicas, bot_api: FakeBotApi, mongo_client: MongoClient[Document]
) -> None:
    users = range(2000, 2012)
    async with WebhookTelegram(replicas.webhooks(), SECRET, first_update_id=100_000) as telegram:
        await asyncio.gather(
            *(telegram.converse(user, ["/start", f"User {user}"]) for user in users)
        )

        async def copies(update: dict[str, object]) -> None:
            """The same update at two processes at once, as a timed-out request that is
            still running and its redelivery would be."""
            await asyncio.gather(telegram.deliver(update, 0), telegram.deliver(update, 2))

        async def rush(user: int) -> list[int]:
            rename = text_update(telegram.next_update_id(), user, "/rename")
            await copies(rename)
            name = text_update(telegram.next_update_id(), user, f"Renamed {user}")
            await copies(name)
            looks = [text_update(telegram.next_update_id(), user, "/me") for _ in range(4)]
            await asyncio.gather(*(copies(update) for update in looks))  # all at once
            return [int(u["update_id"]) for u in [rename, name, *looks]]

        turns = asyncio.Semaphore(AT_ONCE // 4)  # each sends up to eight requests at once

        async def rush_in_turn(user: int) -> list[int]:
            async with turns:
                return await rush(user)

        rushed = await asyncio.gather(*(rush_in_turn(user) for user in users))

    stored = [u for u in _users(mongo_client) if u["telegram_id"] in users]
    assert sorted(u["telegram_id"] for u in stored) == list(users)
    assert {u["telegram_id"]: u["name"] for u in stored} == {u: f"Renamed {u}" for u in users}
    runs = _handler_runs(replicas)
    for user, update_ids in zip(users, rushed, strict=True):
        replies = bot_api.replies_to(user)[2:]  # after registering
        assert replies.count(texts.renamed(f"Renamed {user}")) == 1, replies
        assert len(replies) == len(update_ids), replies  # every copy but one was dropped
        assert all(len(runs[u]) == 1 for u in update_ids), user  # each ran once
        assert _overlaps([span for u in update_ids for span in runs[u]]) == [], user
