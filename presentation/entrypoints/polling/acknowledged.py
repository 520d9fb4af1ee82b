"""Long polling that confirms an update to Telegram only after it has been handled.

aiogram's polling confirms each update (by asking for the next offset) as soon as it has
fetched it, so a process killed mid-handler loses that message. Here the offset sent to
Telegram never passes an update still being handled: after a crash, Telegram delivers the
unfinished ones again, and the conversation store's record of handled updates drops the
ones that had finished. Updates are still handled concurrently, each in a task of its own.

While an update is in progress, Telegram sends it (and every later one) again with each
fetch; only the new ones are parsed into `Update`s, the rest are skipped by their ids.
"""

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError

log = logging.getLogger(__name__)

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)
"""aiogram's own polling backoff, used when getUpdates fails."""
IDLE_REFETCH_SECONDS = 0.5
"""How long to wait before fetching again when a fetch brought only updates in progress."""


class GetUpdatesAsJson(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates, its updates left as JSON: under load most of a fetch is updates still in
    progress, and parsing them into `Update`s again each time cost far more CPU than
    reading their JSON."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class UpdateWindow:
    """Which fetched updates may be confirmed: every one below the oldest still in progress.

    Telegram confirms all updates below the `offset` of the next getUpdates; updates at or
    above it come back again, and those already started here are skipped.
    """

    def __init__(self) -> None:
        self._in_progress: set[int] = set()
        self._started: set[int] = set()
        self._next = 0

    @property
    def offset(self) -> int | None:
        """The offset for the next getUpdates; None before anything was fetched."""
        if self._next == 0:
            return None
        return min(self._in_progress, default=self._next)

    @property
    def in_progress(self) -> int:
        return len(self._in_progress)

    def start(self, update_id: int) -> bool:
        """Mark `update_id` as being handled; False if it was started here already. Below
        the offset every update was handled (a slow getUpdates sent with an older offset
        can still bring one back)."""
        floor = self.offset
        if update_id in self._started or (floor is not None and update_id < floor):
            return False
        self._started.add(update_id)
        self._in_progress.add(update_id)
        self._next = max(self._next, update_id + 1)
        return True

    def finish(self, update_id: int) -> None:
        self._in_progress.discard(update_id)
        floor = self.offset
        if floor is not None:  # forget what Telegram will never send again
            self._started = {i for i in self._started if i >= floor}


async def poll(
    dispatcher: Dispatcher,
    bot: Bot,
    stop: asyncio.Event,
    polling_timeout: int = 10,
) -> UpdateWindow:
    """Fetch and handle updates until `stop` is set; returns with updates possibly still in
    progress (see `UpdateWindow.in_progress`) for the caller to wait for."""
    window, backoff = UpdateWindow(), Backoff(config=BACKOFF)
    allowed = dispatcher.resolve_used_update_types()
    tasks: set[asyncio.Task[None]] = set()

    finished = asyncio.Event()

    async def handle(update: Update) -> None:
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            # The dispatcher has tried a message again for a while (`RetryFailedUpdates`;
            # a press was answered instead): held back longer, it would hold back every
            # later update too.
            log.exception(
                "update %d could not be handled; confirmed to Telegram without it",
                update.update_id,
            )
        # Finished, well or given up on; an update cancelled at exit is not: it stays
        # unconfirmed and comes back.
        window.finish(update.update_id)
        finished.set()

    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            method = GetUpdatesAsJson(
                offset=window.offset, timeout=polling_timeout, allowed_updates=allowed
            )
            finished.clear()  # an update finishing during the fetch may free the offset
            fetch = asyncio.create_task(_fetch(bot, method, polling_timeout))
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except Exception as error:
                log.error("getUpdates failed (%s); retrying in %.1f s", error, backoff.next_delay)
                await backoff.asleep()
                continue
            backoff.reset()
            new = _started(window, bot, updates)
            for update in new:
                task = asyncio.create_task(handle(update))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if updates and not new:
                # Telegram answers at once while an update in progress holds the offset
                # back: wait for one to finish (or a new one to be due) instead of spinning.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_REFETCH_SECONDS):
                        await finished.wait()
    finally:
        stopping.cancel()
    return window


def _started(window: UpdateWindow, bot: Bot, updates: list[dict[str, Any]]) -> list[Update]:
    """The fetched updates not started before, now started, as aiogram's `Update`s bound to
    `bot` (as its own parse binds them). One that cannot be parsed is finished unhandled, so
    that it is confirmed once the updates before it are; what the user sent stays out of
    the log, which names only where the update differs from what aiogram expects."""
    new = []
    for raw in updates:
        update_id = raw.get("update_id")
        if not isinstance(update_id, int):
            log.error("getUpdates brought an update without an id; skipped")
            continue
        if not window.start(update_id):
            continue
        try:
            new.append(Update.model_validate(raw, context={"bot": bot}))
        except ValidationError as error:
            where = sorted(
                {".".join(map(str, e["loc"])) for e in error.errors(include_input=False)}
            )
            log.error(
                "update %d is not one this bot can read (%s); it is confirmed to Telegram"
                " unhandled",
                update_id,
                ", ".join(where),
            )
            window.finish(update_id)
    return new


async def confirm(bot: Bot, window: UpdateWindow) -> None:
    """Tell Telegram which updates are done, without fetching any (best effort, at exit)."""
    if window.offset is None:
        return
    try:
        await bot(GetUpdatesAsJson(offset=window.offset, limit=1, timeout=0))
    except Exception as error:
        log.warning("could not confirm the handled updates to Telegram (%s)", error)


async def _fetch(bot: Bot, method: GetUpdatesAsJson, polling_timeout: int) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {}
    if bot.session.timeout:  # wait longer than Telegram holds a long poll
        kwargs["request_timeout"] = int(bot.session.timeout + polling_timeout)
    return await bot(method, **kwargs)
