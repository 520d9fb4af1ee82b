"""Several `profilebot polling` processes of one bot on one MongoDB: one polls, the others
wait on standby for the poller lease. A standby takes over after `kill -9` of the poller
within about the lease, after its clean stop at once; a poller that loses its lease stops
calling getUpdates before another process could hold it.

Each process reaches the fake Bot API through a path of its own (`FakeBotApi.url_for`), so
every getUpdates is recorded with the process that sent it and when the fake held it; the
fake holds each long poll for its whole `timeout`, as Telegram does.
"""

import itertools
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from infrastructure.embedded_mongo import free_loopback_port
from infrastructure.mongo_client import Document
from infrastructure.mongo_lease import SERVER_NOW_MS
from presentation.telegram import texts
from tests.conftest import FailPoints
from tests.e2e.fake_bot_api import FakeBotApi, Poll
from tests.e2e.profilebot_process import BotProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

ADA = 1001
ACQUIRED = "polling lease acquired"
STANDBY = "standby: another poller holds the lease"
LOST = "polling lease lost"
LEASE_ID = "poller:4242"


@pytest.fixture(autouse=True)
def telegram_like_long_polls(bot_api: FakeBotApi) -> None:
    bot_api.max_poll_seconds = 60.0


Start = Callable[..., BotProcess]


@pytest.fixture
def poller(tmp_path: Path, env: dict[str, str], bot_api: FakeBotApi) -> Iterator[Start]:
    """Starts `profilebot polling` as `name` with a lease of `lease` seconds (and `more`
    settings); whatever is still running at the end is killed."""
    started: list[BotProcess] = []

    def start(name: str, lease: float, **more: str) -> BotProcess:
        settings = {"TELEGRAM_API_URL": bot_api.url_for(name), "POLLER_LEASE_SECONDS": str(lease)}
        started.append(BotProcess(tmp_path, env | settings | more, name=name))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.kill()


def roles(*processes: BotProcess) -> tuple[BotProcess, BotProcess]:
    """(the poller, a standby), once one holds the lease and the others wait for it."""
    try:
        wait_until(
            lambda: (
                sum(ACQUIRED in p.output() for p in processes) == 1
                and sum(STANDBY in p.output() for p in processes) == len(processes) - 1
            ),
            120,
            "one poller and the rest on standby",
        )
    except AssertionError as error:
        raise AssertionError("\n".join([str(error), *(p.output() for p in processes)])) from None
    [active] = [p for p in processes if ACQUIRED in p.output()]
    [standby, *_] = [p for p in processes if p is not active]
    return active, standby


def name_of(process: BotProcess) -> str:
    return process.log.stem


def polls_of(bot_api: FakeBotApi, process: BotProcess) -> list[Poll]:
    return [p for p in list(bot_api.polls) if p.caller == name_of(process)]


def assert_no_two_processes_polled_at_once(polls: list[Poll]) -> None:
    for one, other in itertools.combinations(polls, 2):
        if one.caller != other.caller:
            assert one.ended <= other.started or other.ended <= one.started, (one, other)


def test_after_kill_9_of_the_poller_a_standby_answers_within_the_lease(
    poller: Start,
    bot_api: FakeBotApi,
    mongo_client: MongoClient[Document],
    db_name: str,
) -> None:
    lease = 3.0
    first, second = (poller(name, lease) for name in ("first", "second"))
    active, standby = roles(first, second)
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    time.sleep(2 * lease)  # several renewals: the standby stays where it is
    assert polls_of(bot_api, active)
    assert not polls_of(bot_api, standby)

    active.kill()
    killed = time.monotonic()
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"), timeout=30)
    answered = time.monotonic() - killed

    first_poll = min(p.started for p in polls_of(bot_api, standby)) - killed
    print(f"\nkill -9, then the standby's first getUpdates after {first_poll:.2f} s;")
    print(f"the message sent right after the kill answered after {answered:.2f} s")
    assert answered <= lease + 3
    assert bot_api.replies_to(ADA).count(texts.registered("Ada")) == 1
    assert mongo_client[db_name]["users"].count_documents({"telegram_id": ADA}) == 1
    assert_no_two_processes_polled_at_once(bot_api.polls)
    assert standby.terminate() == 0, standby.output()
    assert "Traceback" not in standby.output()


def test_a_clean_stop_of_the_poller_hands_over_at_once(poller: Start, bot_api: FakeBotApi) -> None:
    lease = 9.0
    first, second = (poller(name, lease) for name in ("first", "second"))
    active, standby = roles(first, second)
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())

    assert active.terminate() == 0, active.output()
    stopped = time.monotonic()
    bot_api.wait_until(lambda: bool(polls_of(bot_api, standby)), timeout=30)

    last_poll_ended = max(p.ended for p in polls_of(bot_api, active))
    taken_over = min(p.started for p in polls_of(bot_api, standby))
    handover = taken_over - last_poll_ended
    print(f"\nthe poller's last getUpdates ended, the standby's first began {handover:.2f} s")
    print(f"later ({taken_over - stopped:.2f} s after the poller exited)")
    # A standby tries every third of the lease: after the release it polls within
    # that (3 s). Without the release the lease would run out a whole lease after its last
    # renewal, which came at most a third of the lease before that last getUpdates: two
    # thirds of the lease (6 s) after it at the earliest.
    assert handover < lease * 0.6
    assert "polling lease released" in active.output()
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"), timeout=30)
    assert_no_two_processes_polled_at_once(bot_api.polls)
    assert standby.terminate() == 0, standby.output()


def test_a_standby_stops_promptly_and_never_polls(poller: Start, bot_api: FakeBotApi) -> None:
    first, second = (poller(name, 3.0) for name in ("first", "second"))
    active, standby = roles(first, second)

    started = time.monotonic()
    assert standby.terminate() == 0, standby.output()
    took = time.monotonic() - started
    print(f"\na standby stopped {took:.2f} s after SIGTERM")

    assert took < 10
    assert not polls_of(bot_api, standby)
    assert "polling started" not in standby.output()
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    assert active.terminate() == 0, active.output()


def test_a_poller_whose_lease_was_taken_stops_polling_and_waits_on_standby(
    poller: Start,
    bot_api: FakeBotApi,
    mongo_client: MongoClient[Document],
    db_name: str,
) -> None:
    lease, port = 3.0, free_loopback_port()
    bot = poller("only", lease, HTTP_HOST="127.0.0.1", HTTP_PORT=str(port))
    bot.wait_for_output(ACQUIRED)
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    assert _metric(port, "profilebot_poller_active") == 1

    leases = mongo_client[db_name]["leases"]
    hour_from_now = {"$add": [SERVER_NOW_MS, 3_600_000]}
    leases.update_one(
        {"_id": LEASE_ID}, [{"$set": {"token": "intruder", "until_ms": hour_from_now}}]
    )
    # At its next renewal, a third of the lease on (bounded by two leases for a loaded
    # machine: that it stopped polling in time is checked on the polls themselves).
    bot.wait_for_output(LOST, timeout=2 * lease)
    lost = time.monotonic()
    bot.wait_for_output(STANDBY)
    time.sleep(lease)

    assert all(p.started < lost for p in polls_of(bot_api, bot))
    assert _metric(port, "profilebot_poller_active") == 0
    assert _metric(port, "profilebot_leases_lost_total", lease="poller") == 1

    leases.delete_one({"_id": LEASE_ID, "token": "intruder"})  # the intruder lets go
    bot.wait_for_output(ACQUIRED, count=2, timeout=2 * lease)  # it tries every 1 s
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"), timeout=30)
    assert _metric(port, "profilebot_poller_active") == 1
    assert bot.terminate() == 0, bot.output()
    output = bot.output()
    assert output.count(LOST) == 1
    assert [line for line in output.splitlines() if " WARNING " in line and LOST in line]


def test_a_poller_that_cannot_renew_stops_polling_before_its_lease_runs_out(
    *,
    poller: Start,
    bot_api: FakeBotApi,
    mongo_client: MongoClient[Document],
    db_name: str,
    fail_points: FailPoints,
) -> None:
    lease = 3.0
    bot = poller("only", lease)
    bot.wait_for_output(ACQUIRED)
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())

    # MongoDB stalls: renewing (`update`) and acquiring (`findAndModify`) hang past the
    # operation timeout and fail; the lease's expiry on the server stays as it was.
    stalled = {"blockConnection": True, "blockTimeMS": 10_000, "errorCode": 2}
    fail_points.fail(["update", "findAndModify"], times=0, **stalled)
    bot.wait_for_output(LOST, timeout=2 * lease)
    document = mongo_client[db_name]["leases"].find_one({"_id": LEASE_ID})
    assert document is not None
    expires = document["until_ms"] / 1000 - (time.time() - time.monotonic())
    time.sleep(max(0.0, expires - time.monotonic()) + 1)

    sent = [c for c in bot_api.calls_of("getUpdates") if c.caller == name_of(bot)]
    polls = polls_of(bot_api, bot)
    assert len(polls) == len(sent)  # every getUpdates it sent is over at the fake
    margin = expires - max(p.ended for p in polls)
    print(f"\nits last getUpdates was over {margin:.2f} s before its lease ran out")
    assert margin > 0
    fail_points.off()

    bot.wait_for_output(ACQUIRED, count=2, timeout=30)
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"), timeout=30)
    assert bot.terminate() == 0, bot.output()
    assert bot.output().count(LOST) == 1


def _metric(port: int, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no {name} {labels} in:\n{text}")
