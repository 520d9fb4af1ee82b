"""What an update changed in its conversation, kept until the one write at the end; and
the changes whose write failed, kept in memory until the user's next update."""

import time
from collections.abc import Callable
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
