"""The lists a new command, state or error must join, each checked against what is declared:
a test here fails naming what is missing (instead of the bot answering "something went
wrong" or "Cancelled." in its place, or a command going unmeasured)."""

import importlib
import pkgutil
from pathlib import Path

import pytest
from aiogram.fsm.state import State

import application
import domain
from application.errors import ApplicationError
from domain.errors import DomainError
from presentation.telegram import states
from presentation.telegram.commands import COMMANDS, CommandEntry
from presentation.telegram.handlers import ROUTER_KINDS, feature_modules
from presentation.telegram.handlers.errors import ANSWERS, NOT_ANSWERED_HERE
from tests.conversations import test_round_trips as round_trips
from tests.conversations import test_storage_outage as storage_outage


def _declared_errors() -> list[type[Exception]]:
    """Every error class the domain and the application declare, however deep."""
    for package in (domain, application):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found: list[type[Exception]] = []
    bases: list[type[Exception]] = [DomainError, ApplicationError]
    while bases:
        subclasses = bases.pop().__subclasses__()
        found += subclasses
        bases += subclasses
    return found


def _all_states() -> list[State]:
    return [state for group in states.groups() for state in group.__all_states__]


def test_the_walks_find_something_to_check() -> None:
    assert len(_declared_errors()) >= 5
    assert len(_all_states()) >= 3


def test_every_domain_and_application_error_is_answered_or_says_why_not() -> None:
    missing = [
        error.__qualname__
        for error in _declared_errors()
        if error not in ANSWERS and error not in NOT_ANSWERED_HERE
    ]

    assert missing == []


def test_no_error_is_both_answered_and_said_not_to_be() -> None:
    assert set(ANSWERS) & set(NOT_ANSWERED_HERE) == set()


@pytest.mark.parametrize("state", _all_states(), ids=str)
def test_every_state_has_its_cancel_and_reminder_texts(state: State) -> None:
    assert isinstance(state, states.Question), f"{state.state} is a State, not a Question"
    assert state.cancelled() != ""
    assert state.reminder() != ""


def _steps(flow: list[tuple[str, list[str]]]) -> set[str]:
    return {step for step, _commands in flow}


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: f"/{entry.name}")
def test_every_command_has_its_round_trips_pinned(entry: CommandEntry) -> None:
    unpinned = [
        name
        for name, flow in [("LOCAL", round_trips.LOCAL), ("LEASED", round_trips.LEASED)]
        if f"/{entry.name}" not in _steps(flow)
    ]

    assert unpinned == []


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: f"/{entry.name}")
def test_every_command_is_sent_while_mongodb_is_down(entry: CommandEntry) -> None:
    tried = [*storage_outage.COMMANDS_THAT_READ, *storage_outage.COMMANDS_THAT_READ_NOTHING]

    assert f"/{entry.name}" in tried


README = Path(__file__).parents[2] / "README.md"


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: f"/{entry.name}")
def test_every_command_has_a_row_in_the_readmes_command_table(entry: CommandEntry) -> None:
    rows = [line for line in README.read_text("utf-8").splitlines() if line.startswith("| `/")]

    assert any(row.startswith(f"| `/{entry.name}`") for row in rows)


def test_every_router_a_handler_module_builds_is_of_a_kind_build_router_includes() -> None:
    unknown = [
        f"{module.__name__}.{name}"
        for module in feature_modules()
        for name, value in vars(module).items()
        if name.endswith("_router") and callable(value) and name not in ROUTER_KINDS
    ]

    assert unknown == []  # a misspelt kind would build a router nobody includes
