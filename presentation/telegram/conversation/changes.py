"""What an update changed in its conversation, kept until the one write at the end; the
changes whose write failed, kept in memory until the user's next update; and the step a
conversation still owes an answer to (`OwedStep`)."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiogram.fsm.storage.base import StorageKey


class Unchanged:
    """The value of a part of the conversation the update left alone."""


UNCHANGED: Final = Unchanged()


@dataclass
class Change:
    state: str | Unchanged | None = UNCHANGED
    data: dict[str, Any] | Unchanged = UNCHANGED

    def __bool__(self) -> bool:
        return self.state is not UNCHANGED or self.data is not UNCHANGED


OWED_KEY: Final = "owed_step"
"""Where a conversation's data keeps its `OwedStep` (the handlers never see it)."""


@dataclass(frozen=True, slots=True)
class OwedStep:
    """A step whose change was written although the update failed (its effect happened,
    its reply may not have gone out): the conversation as it was before, for that update
    alone. Delivered again, the update is handled from there, so its use case (idempotent)
    answers as the first time did; every other update reads the conversation after it."""

    update_id: int
    state: str | None
    data: dict[str, Any]

    def encoded(self) -> dict[str, Any]:
        return {"update_id": self.update_id, "state": self.state, "data": self.data}


def split_owed(data: Mapping[str, Any]) -> tuple[dict[str, Any], OwedStep | None]:
    """The data as the handlers see it, and the step it still owes, if any."""
    plain = dict(data)
    stored = plain.pop(OWED_KEY, None)
    if not isinstance(stored, dict) or not isinstance(stored.get("update_id"), int):
        return plain, None
    state, before = stored.get("state"), stored.get("data")
    return plain, OwedStep(
        stored["update_id"],
        state if isinstance(state, str) else None,
        dict(before) if isinstance(before, dict) else {},
    )


def with_owed(data: Mapping[str, Any], owed: OwedStep | None) -> dict[str, Any]:
    """`data` to store, keeping `owed` (None: it is settled, or there is none)."""
    return dict(data) if owed is None else {**data, OWED_KEY: owed.encoded()}


def ended_by(step: int, state: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a conversation that `step` ended by answering its question `state`
    (data `data`), though no write said so: the step is owed to its update. (Every step
    with an effect ends its conversation: an answered question is closed.)"""
    before, _ = split_owed(data)
    return with_owed({}, OwedStep(step, state, before))


class Unsaved:
    """Changes whose write failed, by conversation, until written, superseded or too old."""

    def __init__(
        self,
        max_age_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._changes: dict[StorageKey, tuple[float, Change]] = {}

    def __len__(self) -> int:
        return len(self._changes)

    def get(self, key: StorageKey) -> Change | None:
        entry = self._changes.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] > self._max_age:  # the conversation would have expired
            del self._changes[key]
            return None
        return entry[1]

    def keep(self, key: StorageKey, change: Change) -> None:
        self._changes.pop(key, None)
        if len(self._changes) >= self._max_entries:
            del self._changes[next(iter(self._changes))]  # the oldest
        self._changes[key] = (self._clock(), change)

    def forget(self, key: StorageKey) -> None:
        self._changes.pop(key, None)
