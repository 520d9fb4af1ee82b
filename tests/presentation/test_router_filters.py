"""A guard for the lazy FSM: it never provides `raw_state`, which aiogram's `StateFilter`
(and a bare `State` used as a filter) reads, so such a handler would silently never match.
Every state filter must be `InState`, and building the router refuses any other."""

import pytest
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.storage.memory import MemoryStorage

from application.show_profile import ShowProfile
from presentation.telegram.dispatcher import build_dispatcher
from presentation.telegram.filters import (
    InState,
    refuse_state_filters,
    state_filters_aiogram_would_read,
)
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.user_order import UserLocks
from presentation.telegram.states import Registration
from tests.unit.fakes import InMemoryUserRepository


def test_no_router_filters_on_state_with_aiogram_state_filters() -> None:
    dispatcher = build_dispatcher(
        MemoryStorage(),
        show_profile=ShowProfile(InMemoryUserRepository()),
        isolation=UserLocks(),
        flood_control=FloodControl(10, 30),
        in_flight=InFlightUpdates(),
        storage_budget_seconds=3.0,
    )

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


def test_a_state_filter_fails_the_start_up_naming_where() -> None:
    root = Router(name="root")
    root.message.register(_handler, StateFilter(Registration.waiting_for_name))

    with pytest.raises(TypeError, match=r"root\.message"):
        refuse_state_filters(root)
