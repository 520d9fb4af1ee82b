"""A guard for the lazy FSM: it never provides `raw_state`, which aiogram's `StateFilter`
(and a bare `State` used as a filter) reads, so such a handler would silently never match.
Every state filter must be `InState`, and building a dispatcher with another fails."""

import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import StateFilter
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message

from application.show_profile import ShowProfile
from presentation.telegram import dispatcher as dispatcher_module
from presentation.telegram.conversation.lazy_fsm import (
    aiogram_state_filters as state_filters_aiogram_would_read,
)
from presentation.telegram.conversation.lazy_fsm import refuse_aiogram_state_filters
from presentation.telegram.dispatcher import build_dispatcher
from presentation.telegram.filters import InState
from presentation.telegram.handlers import build_router
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.user_order import UserLocks
from presentation.telegram.states import Registration
from tests.unit.fakes import InMemoryUserRepository


def a_dispatcher() -> Dispatcher:
    return build_dispatcher(
        MemoryStorage(),
        show_profile=ShowProfile(InMemoryUserRepository()),
        answered=InMemoryUserRepository(),
        isolation=UserLocks(),
        flood_control=FloodControl(10, 30),
        in_flight=InFlightUpdates(),
        storage_budget_seconds=3.0,
    )


def test_no_router_filters_on_state_with_aiogram_state_filters() -> None:
    dispatcher = a_dispatcher()

    assert list(state_filters_aiogram_would_read(dispatcher)) == []
    # …while the bot does filter on state, through InState:
    assert any(
        isinstance(f.callback, InState)
        for router in dispatcher.chain_tail
        for h in router.message.handlers
        for f in h.filters or []
    )


async def _handler() -> None:
    """A handler for the guard's own tests."""


def test_the_guard_finds_a_state_filter_and_a_bare_state() -> None:
    root, inner = Router(name="root"), Router(name="inner")
    root.message.register(_handler, StateFilter(Registration.waiting_for_name))
    inner.message.filter(Registration.waiting_for_name)
    root.include_router(inner)

    found = list(state_filters_aiogram_would_read(root))

    assert len(found) == 2
    assert found[1] == "inner.message: router filter"


def test_building_a_dispatcher_with_an_aiogram_state_filter_fails_naming_the_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feature = Router(name="bio")

    @feature.message(StateFilter(Registration.waiting_for_name))
    async def on_bio(message: Message) -> None: ...

    def with_the_feature() -> Router:
        router = build_router()
        router.include_router(feature)
        return router

    monkeypatch.setattr(dispatcher_module, "build_router", with_the_feature)

    with pytest.raises(TypeError, match=r"bio\.message: .*on_bio.*use .*InState"):
        a_dispatcher()


def test_a_state_used_as_a_router_filter_is_refused_too() -> None:
    router = Router(name="bio")
    router.message.filter(Registration.waiting_for_name)

    with pytest.raises(TypeError, match=r"bio\.message: router filter"):
        refuse_aiogram_state_filters(router)
