"""Polling confirms an update to Telegram only once it, and every earlier one, was handled."""

import asyncio
from collections.abc import Callable
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update

from presentation.entrypoints.polling.acknowledged import UpdateWindow, confirm, poll
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

    def __init__(self, batches: list[list[Update]]) -> None:
        super().__init__(lambda method: None)
        self.batches = batches
        self.offsets: list[int | None] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if not isinstance(method, GetUpdates):
            return await super().make_request(bot, method, timeout)
        self.offsets.append(method.offset)
        await asyncio.sleep(0.01)
        offset = method.offset or 0
        pending = [u for batch in self.batches for u in batch if u.update_id >= offset]
        return cast(TelegramType, pending[: method.limit or 100])


class GatedDispatcher:
    """Handles update 2 only when the test opens the gate; the others at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.handled: list[int] = []

    def resolve_used_update_types(self) -> list[str]:
        return ["message"]

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> None:
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


async def test_at_exit_the_handled_updates_are_confirmed() -> None:
    api = ScriptedBotApi([])
    window = UpdateWindow()
    window.start(10)
    window.finish(10)

    await confirm(Bot("42:TEST-TOKEN", session=api), window)

    assert api.offsets == [11]
