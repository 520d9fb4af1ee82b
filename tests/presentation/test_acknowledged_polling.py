"""Polling confirms an update to Telegram only once it, and every earlier one, was handled."""

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update

from presentation.entrypoints.polling import acknowledged
from presentation.entrypoints.polling.acknowledged import (
    GetUpdatesAsJson,
    UpdateWindow,
    confirm,
    poll,
)
from presentation.entrypoints.terminal.local_session import LocalBotSession
from tests.presentation.conftest import private_update


def test_nothing_is_confirmed_before_anything_was_fetched() -> None:
    assert UpdateWindow().offset is None


def test_the_offset_stays_at_the_oldest_update_in_progress() -> None:
    window = UpdateWindow()
    for update_id in (5, 6, 7):
        window.start(update_id)

    window.finish(6)
    window.finish(7)
    assert window.offset == 5

    window.finish(5)
    assert window.offset == 8


def test_an_update_fetched_again_while_known_is_not_started_twice() -> None:
    window = UpdateWindow()
    window.start(5)
    window.start(6)
    window.finish(6)

    assert not window.start(5)
    assert not window.start(6)  # done, but still at or above the offset
    assert window.start(7)


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the condition is plain state, not an event
            await asyncio.sleep(0.01)


class ScriptedBotApi(LocalBotSession):
    """getUpdates answers from `batches`, as Telegram would, and records each offset."""

    def __init__(
        self, batches: list[list[Update]], spoil: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        super().__init__(lambda method: None)
        self.batches = batches
        self._spoil = spoil
        """Changes each update's JSON before it is sent, to stand for a bad one."""
        self.offsets: list[int | None] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if not isinstance(method, GetUpdatesAsJson):
            return await super().make_request(bot, method, timeout)
        self.offsets.append(method.offset)
        await asyncio.sleep(0.01)
        offset = method.offset or 0
        pending = [u for batch in self.batches for u in batch if u.update_id >= offset]
        as_json = [u.model_dump(mode="json", exclude_none=True) for u in pending]
        if self._spoil is not None:
            for raw in as_json:
                self._spoil(raw)
        return cast(TelegramType, as_json[: method.limit or 100])


class GatedDispatcher:
    """Handles update 2 only when the test opens the gate; the others at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.handled: list[int] = []
        self.fed: list[Update] = []

    def resolve_used_update_types(self) -> list[str]:
        return ["message"]

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> None:
        self.fed.append(update)
        if update.update_id == 2:
            await self.gate.wait()
        self.handled.append(update.update_id)


async def test_a_slow_update_holds_back_the_offset_but_not_the_updates_after_it() -> None:
    updates = [private_update(i, 7) for i in (1, 2, 3)]
    api, dispatcher = ScriptedBotApi([updates]), GatedDispatcher()
    bot, stop = Bot("42:TEST-TOKEN", session=api), asyncio.Event()

    polling = asyncio.create_task(poll(cast(Dispatcher, dispatcher), bot, stop, 0))
    await eventually(lambda: dispatcher.handled == [1, 3] and api.offsets.count(2) >= 2)
    fetches = len(api.offsets)
    await asyncio.sleep(1.0)
    assert len(api.offsets) - fetches <= 3  # no spinning while 2 holds the offset back
    assert max(o or 0 for o in api.offsets) == 2  # 1 confirmed; 2 not, while in progress

    dispatcher.gate.set()
    await eventually(lambda: api.offsets[-1] == 4)
    stop.set()
    window = await polling

    assert dispatcher.handled == [1, 3, 2]  # each handled once, though fetched repeatedly
    assert window.in_progress == 0


async def test_the_updates_fed_to_the_dispatcher_are_parsed_and_bound_to_the_bot() -> None:
    updates = [private_update(i, 7, f"text {i}") for i in (1, 3)]
    api, dispatcher = ScriptedBotApi([updates]), GatedDispatcher()
    bot, stop = Bot("42:TEST-TOKEN", session=api), asyncio.Event()

    polling = asyncio.create_task(poll(cast(Dispatcher, dispatcher), bot, stop, 0))
    await eventually(lambda: dispatcher.handled == [1, 3])
    stop.set()
    await polling

    assert [u.message.text for u in dispatcher.fed if u.message] == ["text 1", "text 3"]
    assert all(u.message and u.message.bot is bot for u in dispatcher.fed)


def unreadable_update_2(raw: dict[str, Any]) -> None:
    """Update 2 is not one aiogram can parse (its message lacks the chat)."""
    if raw["update_id"] == 2:
        del raw["message"]["chat"]


def update_1_without_an_id(raw: dict[str, Any]) -> None:
    """Telegram always sends an id; a stand-in might not."""
    if raw["update_id"] == 1:
        del raw["update_id"]


async def test_an_unreadable_update_is_confirmed_without_holding_back_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    updates = [private_update(i, 7, "my secret words") for i in (1, 2, 3)]
    api, dispatcher = ScriptedBotApi([updates], unreadable_update_2), GatedDispatcher()
    bot, stop = Bot("42:TEST-TOKEN", session=api), asyncio.Event()

    polling = asyncio.create_task(poll(cast(Dispatcher, dispatcher), bot, stop, 0))
    await eventually(lambda: bool(api.offsets) and api.offsets[-1] == 4)
    stop.set()
    await polling

    assert dispatcher.handled == [1, 3]
    [logged] = [r.getMessage() for r in caplog.records if "update 2" in r.getMessage()]
    assert "message.chat" in logged
    assert "my secret words" not in caplog.text  # what the user sent stays out of the log


async def test_an_update_without_an_id_is_skipped_and_polling_goes_on() -> None:
    updates = [private_update(i, 7) for i in (1, 2)]
    api, dispatcher = ScriptedBotApi([updates], update_1_without_an_id), GatedDispatcher()
    dispatcher.gate.set()
    bot, stop = Bot("42:TEST-TOKEN", session=api), asyncio.Event()

    polling = asyncio.create_task(poll(cast(Dispatcher, dispatcher), bot, stop, 0))
    await eventually(lambda: bool(api.offsets) and api.offsets[-1] == 3)
    stop.set()
    await polling

    assert dispatcher.handled == [2]


async def test_an_update_finishing_during_a_fetch_frees_the_offset_without_the_idle_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Update 2 finishes while a fetch bringing it again (and nothing new) is out: the next
    fetch, confirming it, goes at once. The idle wait is made longer than the test's own
    patience, so waiting it out fails the test."""
    monkeypatch.setattr(acknowledged, "IDLE_REFETCH_SECONDS", 60.0)
    updates = [private_update(i, 7) for i in (1, 2)]
    api, dispatcher = ScriptedBotApi([updates]), GatedDispatcher()
    bot, stop = Bot("42:TEST-TOKEN", session=api), asyncio.Event()
    fetch = api.make_request

    async def finish_2_during_its_first_refetch(
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if isinstance(method, GetUpdatesAsJson) and method.offset == 2 and 2 not in api.offsets:
            dispatcher.gate.set()
            await eventually(lambda: 2 in dispatcher.handled)
        return await fetch(bot, method, timeout)

    monkeypatch.setattr(api, "make_request", finish_2_during_its_first_refetch)
    polling = asyncio.create_task(poll(cast(Dispatcher, dispatcher), bot, stop, 0))
    await eventually(lambda: 3 in api.offsets)
    stop.set()
    await polling

    assert dispatcher.handled == [1, 2]


async def test_at_exit_the_handled_updates_are_confirmed() -> None:
    api = ScriptedBotApi([])
    window = UpdateWindow()
    window.start(10)
    window.finish(10)

    await confirm(Bot("42:TEST-TOKEN", session=api), window)

    assert api.offsets == [11]
