"""Two bot processes (two containers, each with its own dispatcher, locks and memory) on one
MongoDB with `EVENT_ISOLATION=mongo`: one user's updates never run at once, each has its
effect once, and a holder that dies or cannot renew is handled as the lease rules say."""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update

from application.errors import StorageUnavailable
from infrastructure import mongo_lease
from infrastructure.conversation.errors import ConversationBusy, ConversationLost
from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import local_button_press, local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession
from presentation.telegram import texts
from tests.conversations.conftest import ADA, ProcessDied, fed_directly

pytestmark = pytest.mark.mongo

LEASE_SECONDS = 5.0
OPERATION_TIMEOUT_SECONDS = 2.0
"""Long enough that taking a lease does not time out on a loaded test machine: an update
that cannot take its lease goes on without it (see the outage tests), which is not what
these tests are about."""
SAFE_FOR = LEASE_SECONDS - OPERATION_TIMEOUT_SECONDS - 0.25
"""How long a holder that cannot renew goes on (see infrastructure.conversation.lease)."""


@dataclass
class Spans:
    """When each handler ran, on the loop's clock, across both processes."""

    spans: list[tuple[float, float, str]] = field(default_factory=list)

    def recorder(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def record(
            handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
            event: TelegramObject,
            data: dict[str, Any],
        ) -> Any:
            loop = asyncio.get_running_loop()
            entered = loop.time()
            try:
                await asyncio.sleep(0.02)  # widen the window an overlap would show in
                return await handler(event, data)
            finally:
                self.spans.append((entered, loop.time(), name))

        return record

    def overlapping(self) -> list[tuple[tuple[float, float, str], tuple[float, float, str]]]:
        ordered = sorted(self.spans)
        return [(a, b) for a, b in itertools.pairwise(ordered) if b[0] < a[1]]


class HeldReplies(LocalBotSession):
    """Records requests; `sendMessage` waits while `released` is clear (`waiting` is set
    once one does), or raises `die_with`."""

    def __init__(self, requests: list[TelegramMethod[Any]]) -> None:
        super().__init__(requests.append)
        self.released = asyncio.Event()
        self.released.set()
        self.waiting = asyncio.Event()
        self.die_with: BaseException | None = None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if isinstance(method, SendMessage):
            if self.die_with is not None:
                raise self.die_with
            if not self.released.is_set():
                self.waiting.set()
            await self.released.wait()
        return await super().make_request(bot, method, timeout)

    async def until_waiting(self) -> None:
        """Until a reply waits for `released`: its update holds the conversation's lease."""
        async with asyncio.timeout(30):
            await self.waiting.wait()


@dataclass
class Process:
    name: str
    container: Container
    dispatcher: Dispatcher
    bot: Bot
    session: HeldReplies
    requests: list[TelegramMethod[Any]]

    async def feed(self, update: Update) -> list[str]:
        already = len(self.requests)
        await self.dispatcher.feed_update(self.bot, update)
        return [r.text for r in self.requests[already:] if isinstance(r, SendMessage)]

    def metric(self, name: str, labels: str = "") -> float:
        for line in self.container.metrics().exposition().decode().splitlines():
            if line.startswith(f"{name}{labels} "):
                return float(line.split()[-1])
        return 0.0


@pytest.fixture
def settings(mongo_server: EmbeddedMongo, db_name: str) -> Settings:
    return Settings(
        _env_file=None,
        mongo_uri=mongo_server.uri,
        mongo_db=db_name,
        mongo_operation_timeout_ms=round(OPERATION_TIMEOUT_SECONDS * 1000),
        event_isolation="mongo",
        conversation_lease_seconds=LEASE_SECONDS,
        lock_wait_seconds=10,
        flood_burst=10_000,
    )


@pytest.fixture
def spans() -> Spans:
    return Spans()


@pytest.fixture
async def processes(settings: Settings, spans: Spans) -> AsyncIterator[tuple[Process, Process]]:
    started = [await _start(name, settings, spans) for name in ("a", "b")]
    yield started[0], started[1]
    for process in started:
        process.session.released.set()
        await asyncio.to_thread(lifecycle.stop, process.container)


async def _start(name: str, settings: Settings, spans: Spans) -> Process:
    requests: list[TelegramMethod[Any]] = []
    session = HeldReplies(requests)
    container = fed_directly(settings, session)
    await asyncio.to_thread(lifecycle.start, container)
    dispatcher = container.dispatcher()
    dispatcher.message.middleware(spans.recorder(name))
    return Process(name, container, dispatcher, container.bot(), session, requests)


def _sent(process: Process) -> list[str]:
    return [r.text for r in process.requests if isinstance(r, SendMessage)]


def _updates(first_id: int, *texts_: str) -> list[Update]:
    return [local_update(first_id + i, ADA, text) for i, text in enumerate(texts_)]


async def test_one_users_updates_spread_over_two_processes_never_run_at_once(
    processes: tuple[Process, Process], spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = processes
    updates = _updates(100, *["/x", "/me", "/cancel", "hello"] * 5)

    await asyncio.gather(*((a if i % 2 else b).feed(update) for i, update in enumerate(updates)))

    unleased = [r.message for r in caplog.records if "without its conversation" in r.message]
    assert unleased == []  # else the test machine was too slow for it, not the bot wrong
    assert len(_sent(a) + _sent(b)) == len(updates)  # one reply each
    assert len(spans.spans) == len(updates)
    assert spans.overlapping() == []


async def test_copies_of_one_update_in_two_processes_at_once_register_and_answer_once(
    processes: tuple[Process, Process], spans: Spans
) -> None:
    a, b = processes
    await a.feed(local_update(1, ADA, "/start"))
    name = local_update(2, ADA, "Ada")

    await asyncio.gather(a.feed(name), b.feed(name), a.feed(name), b.feed(name))

    assert (_sent(a) + _sent(b)).count(texts.registered("Ada")) == 1
    assert spans.overlapping() == []
    assert await b.feed(local_update(3, ADA, "/me")) != [texts.not_registered()]
    duplicates = sum(
        p.metric("profilebot_updates_total", '{outcome="duplicate",type="message"}')
        for p in processes
    )
    assert duplicates == 3


async def test_an_update_whose_process_died_holding_the_lease_is_finished_elsewhere_once_it_ran_out(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    await a.feed(local_update(1, ADA, "/start"))
    a.session.die_with = ProcessDied()  # registered, then died before replying or releasing

    async def die(*args: object, **kwargs: object) -> bool:
        raise ProcessDied

    for write in ("release", "renew"):
        monkeypatch.setattr(a.container.storage.conversation_leases().documents, write, die)
    name = local_update(2, ADA, "Ada")
    with pytest.raises(ProcessDied):
        await a.feed(name)
    died_at = asyncio.get_running_loop().time()

    assert await b.feed(name) == [texts.registered("Ada")]  # the answer the user was owed

    waited = asyncio.get_running_loop().time() - died_at
    # Not before the lease could run out; and then soon, not at the end of the 10 s wait
    # allowed (a retry every half second at most, and the step's own work).
    assert SAFE_FOR < waited < LEASE_SECONDS + 3, waited
    assert b.metric("profilebot_lock_wait_seconds_count") == 1
    assert await b.feed(local_update(3, ADA, "/me")) != [texts.not_registered()]
    assert await b.feed(name) == []  # finished now: dropped when delivered again


async def test_a_failed_release_fails_the_update_and_its_redelivery_ends_the_conversation(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    await a.feed(local_update(1, ADA, "/start"))

    async def outage(*args: object, **kwargs: object) -> bool:
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")

    monkeypatch.setattr(a.container.storage.conversation_leases().documents, "release", outage)
    name = local_update(2, ADA, "Ada")
    with pytest.raises(StorageUnavailable):
        await a.feed(name)  # registered and answered; the end of the conversation not written
    assert _sent(a)[-1] == texts.registered("Ada")

    assert await b.feed(name) == [texts.registered("Ada")]  # after the lease ran out

    assert await b.feed(local_update(3, ADA, "Grace")) == [texts.unknown_input("Grace")]


async def test_a_rename_whose_release_failed_is_answered_renamed_when_delivered_again(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    for update in _updates(1, "/start", "Ada", "/rename"):
        await a.feed(update)

    async def outage(*args: object, **kwargs: object) -> bool:
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")

    monkeypatch.setattr(a.container.storage.conversation_leases().documents, "release", outage)
    grace = local_update(4, ADA, "Grace")
    with pytest.raises(StorageUnavailable):
        await a.feed(grace)  # renamed and answered; the end of the conversation not written

    assert await b.feed(grace) == [texts.renamed("Grace")]  # not "already your name"


async def test_a_holder_that_cannot_renew_stops_before_its_lease_runs_out_and_nothing_overlaps(
    processes: tuple[Process, Process], spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes

    async def cannot_renew(*args: object, **kwargs: object) -> bool:
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")

    monkeypatch.setattr(a.container.storage.conversation_leases().documents, "renew", cannot_renew)
    a.session.released.clear()  # a's handler runs far longer than the lease
    slow = asyncio.create_task(a.feed(local_update(1, ADA, "/start")))
    await a.session.until_waiting()

    hello = await b.feed(local_update(2, ADA, "hello"))
    assert hello == [texts.unknown_input("hello")]  # waits, then runs

    with pytest.raises(ConversationLost):
        await slow
    assert spans.overlapping() == []
    [(a_in, a_out, _)] = [s for s in spans.spans if s[2] == "a"]
    # Stopped at its deadline: one operation timeout (and a quarter second) before its
    # lease, taken before the handler began, could have run out. (Half a second for an
    # event loop late on a loaded machine: still far from the end of the lease.)
    assert a_out - a_in <= SAFE_FOR + 0.5, a_out - a_in
    assert a.metric("profilebot_leases_lost_total", '{lease="conversation"}') == 1
    # Not recorded as handled: its redelivery asks the question it never got to ask.
    a.session.released.set()
    assert await b.feed(local_update(1, ADA, "/start")) == [texts.ask_name()]


async def test_an_update_that_waits_longer_than_allowed_gives_up_and_is_counted(
    settings: Settings, spans: Spans
) -> None:
    async with _held_by_a_patient_process(settings, spans) as (patient, hasty, holding):
        started = asyncio.get_running_loop().time()

        with pytest.raises(ConversationBusy):
            await hasty.feed(local_update(2, ADA, "hello"))

        gave_up_after = asyncio.get_running_loop().time() - started
        # The 0.5 s allowed, and its last attempt; not the holder's whole (endless) turn.
        assert 0.5 <= gave_up_after < 0.5 + OPERATION_TIMEOUT_SECONDS, gave_up_after
        assert hasty.metric("profilebot_lock_timeouts_total") == 1
        assert hasty.metric("profilebot_lock_wait_seconds_count") == 1
        patient.session.released.set()
        assert await holding == [texts.unknown_input("hello")]


async def test_help_answers_at_once_while_another_process_holds_the_conversation(
    settings: Settings, spans: Spans
) -> None:
    async with _held_by_a_patient_process(settings, spans) as (patient, hasty, holding):
        # The hasty process would give up on a lease after 0.5 s: /help takes none.
        assert await hasty.feed(local_update(2, ADA, "/help")) == [texts.help_text()]
        assert not holding.done()
        patient.session.released.set()
        assert await holding == [texts.unknown_input("hello")]


async def test_a_flooder_gets_one_budget_across_processes(settings: Settings, spans: Spans) -> None:
    limited = settings.model_copy(update={"flood_burst": 3, "flood_per_minute": 0.01})
    a = await _start("a", limited, spans)
    b = await _start("b", limited, spans)
    try:
        replies = [
            await (a if i % 2 else b).feed(update)
            for i, update in enumerate(_updates(10, *["hello"] * 6))
        ]
    finally:
        for process in (a, b):
            await asyncio.to_thread(lifecycle.stop, process.container)

    assert replies == [[texts.unknown_input("hello")]] * 3 + [[texts.slow_down()], [], []]


@asynccontextmanager
async def _held_by_a_patient_process(
    settings: Settings, spans: Spans
) -> AsyncIterator[tuple[Process, Process, asyncio.Task[list[str]]]]:
    """Process `a` holding Ada's conversation, its reply hanging until released, and
    process `b`, which waits at most 0.5 s for a lease; with `a`'s update in flight."""
    patient = await _start("a", settings, spans)
    hasty = await _start("b", settings.model_copy(update={"lock_wait_seconds": 0.5}), spans)
    try:
        patient.session.released.clear()
        holding = asyncio.create_task(patient.feed(local_update(1, ADA, "hello")))
        await patient.session.until_waiting()
        yield patient, hasty, holding
    finally:
        for process in (patient, hasty):
            process.session.released.set()
            await asyncio.to_thread(lifecycle.stop, process.container)


def _press(update_id: int, data: str) -> Update:
    """A press under a message in Ada's chat (which message does not matter here)."""
    pressed_on = local_update(update_id, ADA, "").message
    assert pressed_on is not None
    return local_button_press(update_id, ADA, pressed_on, data)


def _answers(process: Process) -> list[str | None]:
    return [r.text for r in process.requests if isinstance(r, AnswerCallbackQuery)]


async def test_a_press_that_waits_longer_than_allowed_is_still_answered(
    settings: Settings, spans: Spans
) -> None:
    async with _held_by_a_patient_process(settings, spans) as (patient, hasty, holding):
        with pytest.raises(ConversationBusy):
            await hasty.feed(_press(2, "profile:rename:1"))

        assert _answers(hasty) == [texts.try_again()]
        patient.session.released.set()
        await holding


async def test_a_press_over_the_shared_budget_is_answered_and_costs_nothing_more(
    settings: Settings, spans: Spans
) -> None:
    limited = settings.model_copy(update={"flood_burst": 3, "flood_per_minute": 0.01})
    a = await _start("a", limited, spans)
    b = await _start("b", limited, spans)
    try:
        for i, update in enumerate(_updates(10, *["hello"] * 3)):
            await (a if i % 2 else b).feed(update)  # b twice, a once: neither's own limit

        assert await a.feed(_press(20, "profile:rename:1")) == []
    finally:
        for process in (a, b):
            await asyncio.to_thread(lifecycle.stop, process.container)

    assert _answers(a) == [texts.slow_down_presses()]


async def _release_outage(*args: object, **kwargs: object) -> bool:
    raise StorageUnavailable("MongoDB call failed: NetworkTimeout")


async def _process_dies(*args: object, **kwargs: object) -> bool:
    raise ProcessDied


@pytest.mark.parametrize("failure", [_release_outage, _process_dies], ids=["outage", "killed"])
async def test_after_a_rename_left_unwritten_the_next_message_elsewhere_is_no_new_name(
    processes: tuple[Process, Process],
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[..., Awaitable[bool]],
) -> None:
    a, b = processes
    for update in _updates(1, "/start", "Ada", "/rename"):
        await a.feed(update)
    for write in ("release", "renew"):
        monkeypatch.setattr(a.container.storage.conversation_leases().documents, write, failure)
    grace = local_update(4, ADA, "Grace")
    with pytest.raises((StorageUnavailable, ProcessDied)):
        await a.feed(grace)  # renamed and answered; the conversation never written
    assert _sent(a)[-1] == texts.renamed("Grace")

    # The user's next message reaches b before Telegram delivers "Grace" again.
    assert await b.feed(local_update(5, ADA, "thanks!")) == [texts.unknown_input("thanks!")]

    profiles = a.container.storage.database()["users"].find({"name": {"$exists": True}})
    assert [u["name"] for u in profiles] == ["Grace"]
    assert await b.feed(grace) == [texts.renamed("Grace")]  # the answer it was owed
    assert await b.feed(grace) == []  # handled to the end now
    assert await b.feed(local_update(6, ADA, "/cancel")) == [texts.nothing_to_cancel()]


async def test_after_a_deletion_left_unwritten_the_next_message_elsewhere_keeps_nothing(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    for update in _updates(1, "/start", "Ada", "/forget"):
        await a.feed(update)
    monkeypatch.setattr(
        a.container.storage.conversation_leases().documents, "release", _release_outage
    )
    yes = local_update(4, ADA, "YES")
    with pytest.raises(StorageUnavailable):
        await a.feed(yes)  # deleted and answered; the conversation never written
    assert _sent(a)[-1] == texts.forgotten()

    assert await b.feed(local_update(5, ADA, "thanks")) == [texts.unknown_input("thanks")]

    assert await b.feed(yes) == [texts.forgotten()]  # not "I didn't get that"
    assert await b.feed(local_update(6, ADA, "/me")) == [texts.not_registered()]
    assert await b.feed(local_update(7, ADA, "/start")) == [texts.ask_name()]
    assert await b.feed(local_update(8, ADA, "Grace")) == [texts.registered("Grace")]


async def test_after_a_rename_whose_lease_was_lost_the_next_message_is_no_new_name(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    for update in _updates(1, "/start", "Ada", "/rename"):
        await a.feed(update)
    monkeypatch.setattr(
        a.container.storage.conversation_leases().documents, "renew", _release_outage
    )
    a.session.released.clear()  # the reply hangs past the lease, which cannot be renewed
    grace = local_update(4, ADA, "Grace")
    with pytest.raises(ConversationLost):
        await a.feed(grace)  # renamed, then stopped before replying
    a.session.released.set()

    assert await b.feed(local_update(5, ADA, "thanks!")) == [texts.unknown_input("thanks!")]
    assert await b.feed(grace) == [texts.renamed("Grace")]


async def test_an_unwritten_step_that_could_not_be_looked_up_is_looked_up_by_the_next_update(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    for update in _updates(1, "/start", "Ada", "/rename"):
        await a.feed(update)
    monkeypatch.setattr(
        a.container.storage.conversation_leases().documents, "release", _release_outage
    )
    with pytest.raises(StorageUnavailable):
        await a.feed(local_update(4, ADA, "Grace"))
    users = b.container.storage.user_repository()
    answered_by = users.answered_by
    monkeypatch.setattr(users, "answered_by", _release_outage)
    with pytest.raises(StorageUnavailable):
        await b.feed(local_update(5, ADA, "thanks!"))  # fails, the unfinished one kept
    monkeypatch.setattr(users, "answered_by", answered_by)

    assert await b.feed(local_update(5, ADA, "thanks!")) == [texts.unknown_input("thanks!")]


@pytest.mark.parametrize("retry_seconds", [None, 1.0], ids=["at-once", "after-a-backoff"])
async def test_a_profile_read_sent_with_the_lease_never_misses_the_holders_rename(
    processes: tuple[Process, Process], monkeypatch: pytest.MonkeyPatch, retry_seconds: float | None
) -> None:
    """`b`'s /me reads the profile while taking the lease, and that read lands while `a`
    holds the lease, before `a`'s rename: once `a` lets go, `b` must read it again. (Both
    processes' handlers use the last started container's use cases, `b`'s: wiring is per
    module.)"""
    a, b = processes
    if retry_seconds is not None:  # b's lease taken long after its read, on its next try
        monkeypatch.setattr(mongo_lease, "FIRST_RETRY_SECONDS", retry_seconds)
    users = b.container.storage.user_repository()
    for update in _updates(1, "/start", "Ada", "/rename"):
        await a.feed(update)
    in_rename, renaming = asyncio.Event(), asyncio.Event()
    rename = users.change_name

    async def rename_once_let(*args: Any, **kwargs: Any) -> Any:
        in_rename.set()
        await renaming.wait()
        return await rename(*args, **kwargs)

    monkeypatch.setattr(users, "change_name", rename_once_let)
    read_early, get = asyncio.Event(), users.get

    async def get_and_tell(*args: Any, **kwargs: Any) -> Any:
        try:
            return await get(*args, **kwargs)
        finally:
            read_early.set()

    monkeypatch.setattr(users, "get", get_and_tell)
    holding = asyncio.create_task(a.feed(local_update(4, ADA, "Grace")))
    async with asyncio.timeout(30):
        await in_rename.wait()  # `a` holds the lease, its rename not yet sent
        shown = asyncio.create_task(b.feed(local_update(5, ADA, "/me")))
        await read_early.wait()  # b's early read is done, with `a` still before its rename
    renaming.set()

    assert await holding == [texts.renamed("Grace")]
    [profile] = await shown
    assert "Grace" in profile
    assert "Ada" not in profile
