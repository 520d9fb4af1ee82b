"""At most N updates do storage work at once; the others wait in arrival order."""

import asyncio
from typing import Any

import pytest
from aiogram.types import TelegramObject

from presentation.telegram.middlewares.storage_admission import StorageAdmission


class Handlers:
    """Handlers that stay inside until their gate opens, noting who got in when."""

    def __init__(self) -> None:
        self.inside: list[int] = []
        self.entered: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}

    async def __call__(self, _event: TelegramObject, data: dict[str, Any]) -> int:
        number: int = data["number"]
        self.inside.append(number)
        self.entered.append(number)
        await self.gates.setdefault(number, asyncio.Event()).wait()
        self.inside.remove(number)
        return number

    def open(self, number: int) -> None:
        self.gates.setdefault(number, asyncio.Event()).set()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_updates_beyond_the_limit_wait_and_go_in_in_arrival_order() -> None:
    admission, handlers = StorageAdmission(at_once=2), Handlers()
    event = TelegramObject()
    tasks = [asyncio.create_task(admission(handlers, event, {"number": n})) for n in range(5)]
    await settle()
    assert handlers.inside == [0, 1]
    assert admission.waiting == 3

    handlers.open(1)
    await settle()
    assert handlers.inside == [0, 2]

    for n in (0, 2, 3, 4):
        handlers.open(n)
    assert await asyncio.gather(*tasks) == [0, 1, 2, 3, 4]
    assert handlers.entered == [0, 1, 2, 3, 4]
    assert admission.waiting == 0


async def test_a_failing_update_gives_its_place_to_the_next() -> None:
    admission = StorageAdmission(at_once=1)

    async def fails(_event: TelegramObject, _data: dict[str, Any]) -> None:
        raise RuntimeError("handler failed")

    async def succeeds(_event: TelegramObject, _data: dict[str, Any]) -> str:
        return "done"

    with pytest.raises(RuntimeError):
        await admission(fails, TelegramObject(), {})
    assert await asyncio.wait_for(admission(succeeds, TelegramObject(), {}), 5) == "done"


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        StorageAdmission(at_once=0)
