"""`you` is one per try of an update: the handler and the errors router of a try share it (what
it read stays read), a try of an update handled again gets its own, over its own
conversation, and none outlives its update."""

import gc
import weakref

import pytest
from aiogram import Dispatcher, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import ErrorEvent, Message

from application.show_profile import ShowProfile
from presentation.telegram import dispatcher as dispatcher_module
from presentation.telegram.dispatcher import build_dispatcher
from presentation.telegram.handlers.arguments import You
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.retry_failed import RetryFailedUpdates
from presentation.telegram.middlewares.user_order import UserLocks
from tests.presentation.conftest import RecordingBot, private_update
from tests.unit.fakes import InMemoryUserRepository


class Handed:
    """A router whose message handler fails the first `failures` tries, and whose errors
    handler answers only `LookedUp`; records what each was handed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.to_handler: list[tuple[You, FSMContext]] = []
        self.to_errors: list[You] = []

    def router(self) -> Router:
        router = Router(name="handed")

        @router.message()
        async def handler(message: Message, you: You, state: FSMContext) -> None:
            self.to_handler.append((you, state))
            if len(self.to_handler) <= self.failures:
                raise LookedUp if message.text == "answered" else RuntimeError("not answered")

        @router.errors()
        async def errors(event: ErrorEvent, you: You) -> None:
            if not isinstance(event.exception, LookedUp):
                raise event.exception
            self.to_errors.append(you)

        return router


class LookedUp(Exception):
    """An error the errors router answers."""


def a_dispatcher(
    monkeypatch: pytest.MonkeyPatch, handed: Handed, retry: RetryFailedUpdates | None = None
) -> Dispatcher:
    monkeypatch.setattr(dispatcher_module, "build_router", handed.router)
    return build_dispatcher(
        MemoryStorage(),
        show_profile=ShowProfile(InMemoryUserRepository()),
        answered=InMemoryUserRepository(),
        isolation=UserLocks(),
        flood_control=FloodControl(10, 30),
        in_flight=InFlightUpdates(),
        storage_budget_seconds=3.0,
        retry_failed=retry,
    )


async def test_a_handler_and_its_errors_router_are_handed_one_you(
    monkeypatch: pytest.MonkeyPatch, recording_bot: RecordingBot
) -> None:
    handed = Handed(failures=1)
    dispatcher = a_dispatcher(monkeypatch, handed)

    await dispatcher.feed_update(recording_bot.bot, private_update(1, 7, "answered"))

    [(you, _state)] = handed.to_handler
    assert handed.to_errors == [you]


async def test_a_try_of_an_update_handled_again_gets_its_own_you_over_its_own_conversation(
    monkeypatch: pytest.MonkeyPatch, recording_bot: RecordingBot
) -> None:
    handed = Handed(failures=1)
    retry = RetryFailedUpdates(first_delay_seconds=0.01, longest_delay_seconds=0.01)
    dispatcher = a_dispatcher(monkeypatch, handed, retry)

    await dispatcher.feed_update(recording_bot.bot, private_update(1, 7, "not answered"))

    [(first, first_state), (again, again_state)] = handed.to_handler
    assert first is not again
    assert first_state is not again_state


async def test_no_you_outlives_its_update(
    monkeypatch: pytest.MonkeyPatch, recording_bot: RecordingBot
) -> None:
    handed = Handed(failures=1)
    dispatcher = a_dispatcher(monkeypatch, handed)
    for update_id, text in enumerate(["answered", "handled"], start=1):
        await dispatcher.feed_update(recording_bot.bot, private_update(update_id, 7, text))
    yous: list[weakref.ref[You]] = [weakref.ref(you) for you, _state in handed.to_handler]
    handed.to_handler.clear()
    handed.to_errors.clear()

    gc.collect()

    assert [you() for you in yous] == [None, None]
