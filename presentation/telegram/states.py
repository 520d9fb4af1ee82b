"""The bot's conversations; each state is a question the bot is waiting to have answered,
declared with what /cancel says when it ends there and how a side command reminds the user
of it. A new state is a `Question` in a `StatesGroup` here; the rest follows."""

import sys
from collections.abc import Callable
from functools import cache

from aiogram.fsm.state import State, StatesGroup

from presentation.telegram import texts
from presentation.telegram.translation import _


class Question(State):
    """A state whose texts come with it: `cancelled()` when /cancel ends the conversation
    there, `reminder()` to append to a side command's answer while it is open; and whether
    it asks for a name (then the name keyboard is shown while it is open)."""

    def __init__(
        self,
        *,
        cancelled: Callable[[], str],
        reminder: Callable[[], str],
        asks_for_a_name: bool = False,
    ) -> None:
        super().__init__()
        self.cancelled = cancelled
        self.reminder = reminder
        self.asks_for_a_name = asks_for_a_name


class Registration(StatesGroup):
    waiting_for_name = Question(
        cancelled=lambda: _("Registration cancelled. Send /start whenever you like."),
        reminder=lambda: _("I'm still waiting for your name (or /cancel)."),
        asks_for_a_name=True,
    )


class Renaming(StatesGroup):
    waiting_for_new_name = Question(
        cancelled=lambda: _("Renaming cancelled. Your name is unchanged."),
        reminder=lambda: _("I'm still waiting for your new name (or /cancel)."),
        asks_for_a_name=True,
    )


class Forgetting(StatesGroup):
    waiting_for_confirmation = Question(
        cancelled=texts.kept,  # as if the user had answered "keep it"
        reminder=lambda: _("Tap “Yes, delete it” or send YES to delete your profile, or /cancel."),
    )


def groups() -> list[type[StatesGroup]]:
    """Every conversation declared in this module."""
    module = vars(sys.modules[__name__]).values()
    return [
        g
        for g in module
        if isinstance(g, type) and issubclass(g, StatesGroup) and g is not StatesGroup
    ]


@cache
def questions() -> dict[str, State]:
    """Every state of every conversation, by its name in storage."""
    return {str(state.state): state for group in groups() for state in group.__all_states__}


def cancelled(state: str | None) -> str:
    """What /cancel says when it ends the conversation in `state`."""
    question = questions().get(state or "")
    return question.cancelled() if isinstance(question, Question) else texts.cancelled()


def still_waiting(state: str | None) -> str:
    """The reminder alone: what a button pressed again is answered with ("" if none)."""
    question = questions().get(state or "")
    return question.reminder() if isinstance(question, Question) else ""


def with_reminder(text: str, state: str | None) -> str:
    """Append what the bot is still waiting for, so a side command doesn't lose the thread."""
    reminder = still_waiting(state)
    return f"{text}\n\n{reminder}" if reminder else text


def asking_for_a_name() -> frozenset[str]:
    """The states in which the name keyboard is shown."""
    return frozenset(
        name
        for name, question in questions().items()
        if isinstance(question, Question) and question.asks_for_a_name
    )
