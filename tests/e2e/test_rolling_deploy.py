"""A rolling deploy from the previous release (CHANGELOG.md's latest, installed from its
commit): a replica of it serves beside a replica of the current code on one database while
users converse across both, each user's updates alternating between them; then it is
replaced by a second current replica and `profilebot migrate` runs while users go on. Every
conversation continues, nothing is lost or done twice, and no document of an earlier schema
version is left.

Selected with `-m previous_release`. The previous release's install (about a minute) is
kept in the temporary directory for later runs; see `tests/e2e/previous_release.py`."""

import asyncio
import itertools
import re
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from pymongo.database import Database

from application.profile import UserProfile
from bench.webhook_delivery import Attempt, WebhookTelegram, text_update
from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port
from infrastructure.migration import UPGRADES
from infrastructure.mongo_client import Document
from infrastructure.mongo_user_repository import user_from_document
from infrastructure.schema import SCHEMA_VERSION, VERSION_FIELD, older, version_of
from presentation.telegram import texts
from tests.e2e.conftest import BOT_TOKEN
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.previous_release import NotInHistory, install, previous_release
from tests.e2e.profilebot_process import BotProcess, clean_env, profilebot_command, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.mongo,
    pytest.mark.previous_release,
    pytest.mark.timeout(900),  # the previous release's first install is most of it
]

SECRET = "rolling-deploy-secret"
USERS = range(3000, 3040)
PREVIOUS_ONLY = USERS[:8]
"""Users who talk only to the previous release before the deploy: their documents are
written by it alone."""
FORGETTERS = [u for u in USERS[4:] if u % 3 == 0]
"""Users who also delete their profile and register again before the deploy."""
AT_ONCE = 12
HANDLER_RAN = re.compile(r"handler ran: update=(\d+) from=([\d.]+) to=([\d.]+)")


@pytest.fixture(scope="module")
def previous_profilebot() -> Path:
    release = previous_release()
    try:
        command, seconds = install(release)
    except NotInHistory as missing:
        pytest.skip(str(missing))
    took = "taken from the cache" if seconds is None else f"installed in {seconds:.1f} s"
    print(f"\nprevious release {release}: {took}")
    return command


class Replica:
    """One `profilebot webhook` process, of the previous release or the current code."""

    def __init__(
        self, cwd: Path, env: dict[str, str], name: str, executable: Path | None = None
    ) -> None:
        self.port = free_loopback_port()
        self.name = name
        env = env | {"WEBHOOK_PORT": str(self.port)}
        self.bot = BotProcess(cwd, env, name=name, command="webhook", executable=executable)

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    def wait_ready(self) -> None:
        import urllib.request  # noqa: PLC0415

        def ready() -> bool:
            assert self.bot.process.poll() is None, self.bot.output()
            try:
                url = f"http://127.0.0.1:{self.port}/health/ready"
                with urllib.request.urlopen(url, timeout=5) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_until(ready, 120, f"{self.name} ready")

    def stop(self) -> None:
        if self.bot.process.poll() is None:
            assert self.bot.terminate(timeout=60) == 0, self.bot.output()


def before_the_deploy(user: int) -> list[str]:
    if user in FORGETTERS:
        return ["/start", f"User {user}", "/forget", "yes", "/start", f"User {user}", "/rename"]
    return ["/start", f"User {user}", "/me", "/rename"]


def during_the_migration(user: int) -> list[str]:
    return [f"User {user} II", "/me"]


def after_the_migration(user: int) -> list[str]:
    return ["/rename", f"User {user} III"]


def expected_replies(user: int, profile: UserProfile) -> list[str]:
    first, second, third = f"User {user}", f"User {user} II", f"User {user} III"
    registered = [texts.ask_name(), texts.registered(first)]
    if user in FORGETTERS:
        registered += [texts.confirm_forget(), texts.forgotten(), *registered]
    else:
        registered.append(texts.profile(replace(profile, name=first)))
    return [
        *registered,
        texts.ask_new_name(first),
        texts.renamed(second),
        texts.profile(replace(profile, name=second)),
        texts.ask_new_name(second),
        texts.renamed(third),
    ]


def old_documents(database: Database[Document]) -> dict[str, int]:
    """Documents of an earlier schema version, in every collection there is."""
    names = database.list_collection_names()
    return {name: database[name].count_documents(older()) for name in names}


def _collapsed(replies: list[str]) -> list[str]:
    """Replies with immediate repeats removed: an update delivered again after its process
    died between replying and recording it is answered again, as the user was owed."""
    return [r for i, r in enumerate(replies) if i == 0 or r != replies[i - 1]]


@pytest.fixture
def replica_env(bot_api: FakeBotApi, mongo_server: EmbeddedMongo, db_name: str) -> dict[str, str]:
    return clean_env(
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        MONGO_URI=mongo_server.uri,
        MONGO_DB=db_name,
        EVENT_ISOLATION="mongo",
        CONVERSATION_LEASE_SECONDS="7",
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_SECRET=SECRET,
        LOG_LEVEL="DEBUG",
    )


class RollingDeploy:
    """The replicas, what was sent to them, and when each phase ended."""

    def __init__(self, cwd: Path, env: dict[str, str], previous: Path) -> None:
        self._cwd = cwd
        self._env = env
        self.previous = Replica(cwd, env, "previous", previous)
        self.current = Replica(cwd, env, "current")
        self.replicas = [self.previous, self.current]
        self.attempts: list[Attempt] = []
        self.sent: dict[int, list[int]] = defaultdict(list)
        self.times = {"started": time.monotonic()}
        self.migrate_said = ""

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()

    async def users_converse(self, webhooks: list[str], phase: str) -> None:
        """Every user's part of the conversation for `phase`, each user's updates
        alternating between the two `webhooks` (only the first, for `PREVIOUS_ONLY` users
        before the deploy)."""
        scripts = {u: PHASES[phase](u) for u in USERS}
        first_update = max((max(ids) for ids in self.sent.values()), default=0) + 1
        async with WebhookTelegram(webhooks, SECRET, first_update_id=first_update) as telegram:
            turns = asyncio.Semaphore(AT_ONCE)

            async def one(user: int) -> None:
                to_first = phase == "before the deploy" and user in PREVIOUS_ONLY
                endpoints = itertools.cycle([0] if to_first else [user % 2, 1 - user % 2])
                async with turns:
                    for text, endpoint in zip(scripts[user], endpoints, strict=False):
                        update = text_update(telegram.next_update_id(), user, text)
                        self.sent[user].append(int(update["update_id"]))
                        await telegram.deliver(update, endpoint)

            await asyncio.gather(*(one(user) for user in USERS))
            self.attempts += telegram.attempts
        self.times[phase] = time.monotonic()

    def replace_the_previous_release(self) -> Replica:
        self.previous.stop()
        successor = Replica(self._cwd, self._env, "successor")
        self.replicas.append(successor)
        successor.wait_ready()
        self.times["deployed"] = time.monotonic()
        return successor

    async def migrate_while_users_converse(self, webhooks: list[str]) -> dict[str, int]:
        """`profilebot migrate`, users conversing from its first batch on (if it has any);
        what it says it upgraded, by collection."""
        migration = await asyncio.create_subprocess_exec(
            profilebot_command(),
            "migrate",
            "--batch-size",
            "2",
            cwd=self._cwd,
            env=self._env | {"LOG_LEVEL": "INFO"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert migration.stderr is not None
        logged = b""
        while b"a batch upgraded" not in logged and (line := await migration.stderr.readline()):
            logged += line
        _, (out, err) = await asyncio.gather(
            self.users_converse(webhooks, "during the migration"), migration.communicate()
        )
        assert migration.returncode == 0, (logged + err).decode()
        self.migrate_said = out.decode()
        upgraded = re.findall(r"^(\w+): (\d+) documents? upgraded", self.migrate_said, re.M)
        return {collection: int(count) for collection, count in upgraded}

    def handler_runs(self) -> dict[int, int]:
        """How often each update's handler ran, in all replicas."""
        runs: dict[int, int] = defaultdict(int)
        for replica in self.replicas:
            for update_id, _, _ in HANDLER_RAN.findall(replica.bot.output()):
                runs[int(update_id)] += 1
        return runs

    def timings(self) -> str:
        t = self.times
        return (
            f"replicas ready {t['ready'] - t['started']:.1f} s; users before the deploy"
            f" {t['before the deploy'] - t['ready']:.1f} s; replaced"
            f" {t['deployed'] - t['before the deploy']:.1f} s; migration beside users"
            f" {t['during the migration'] - t['deployed']:.1f} s; users after it"
            f" {t['after the migration'] - t['during the migration']:.1f} s"
        )


PHASES = {
    "before the deploy": before_the_deploy,
    "during the migration": during_the_migration,
    "after the migration": after_the_migration,
}


async def test_users_converse_across_the_previous_release_and_this_one_then_migrate(
    previous_profilebot: Path,
    replica_env: dict[str, str],
    bot_api: FakeBotApi,
    database: Database[Document],
    tmp_path: Path,
) -> None:
    deploy = RollingDeploy(tmp_path, replica_env, previous_profilebot)
    try:
        deploy.previous.wait_ready()
        deploy.current.wait_ready()
        deploy.times["ready"] = time.monotonic()
        both_releases = [deploy.previous.webhook, deploy.current.webhook]
        await deploy.users_converse(both_releases, "before the deploy")
        successor = deploy.replace_the_previous_release()
        left_by_previous = old_documents(database)
        written_by_previous = database["users"].find_one({"telegram_id": PREVIOUS_ONLY[0]})
        this_release = [deploy.current.webhook, successor.webhook]
        upgraded = await deploy.migrate_while_users_converse(this_release)
        await deploy.users_converse(this_release, "after the migration")
    finally:
        deploy.stop()
    print(f"{deploy.timings()}\nleft by the previous release: {left_by_previous}")
    print(f"migrate said:\n{deploy.migrate_said}")

    # The previous release left documents of an earlier version exactly if it writes one
    # (so with 0.1.0, which writes no version, the migration had work to do), and the
    # migration upgraded those the current replicas had not rewritten meanwhile.
    assert written_by_previous is not None
    previous_is_older = version_of(written_by_previous) < SCHEMA_VERSION
    assert (sum(left_by_previous.values()) > 0) == previous_is_older, left_by_previous
    assert (sum(upgraded.values()) > 0) == previous_is_older, deploy.migrate_said
    assert all(upgraded[c] <= left_by_previous.get(c, 0) for c in upgraded), upgraded
    # None is left now, in any collection.
    assert old_documents(database) == dict.fromkeys(database.list_collection_names(), 0)
    names = database.list_collection_names()
    versions = {name: set(database[name].distinct(VERSION_FIELD)) for name in names}
    assert versions == {name: {SCHEMA_VERSION} for name in names}
    assert set(names) <= {u.collection for u in UPGRADES}

    # Every user is stored once, under the last name they chose.
    stored = list(database["users"].find({}, {"_id": False}))
    assert sorted(u["telegram_id"] for u in stored) == list(USERS)
    assert {u["telegram_id"]: u["name"] for u in stored} == {u: f"User {u} III" for u in USERS}
    profiles = {u["telegram_id"]: UserProfile.of(user_from_document(u)) for u in stored}

    # Every conversation went on where it was, across both releases and the migration, and
    # nothing was answered or done twice but for an update that was delivered again.
    assert not any(texts.storage_unavailable() in bot_api.replies_to(user) for user in USERS)
    by_update: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in deploy.attempts:
        by_update[attempt.update_id].append(attempt)
    runs = deploy.handler_runs()
    for user in USERS:
        replies = bot_api.replies_to(user)
        assert _collapsed(replies) == expected_replies(user, profiles[user]), user
        delivered_again = [u for u in deploy.sent[user] if len(by_update[u]) > 1]
        assert len(replies) <= len(deploy.sent[user]) + len(delivered_again), (user, replies)
        assert all(runs[u] == 1 for u in deploy.sent[user] if u not in delivered_again), user
