"""The port through which a user's own data is read back to them: every record kept about
them, whole, wherever it is kept, and how long each kind is kept."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from domain.user import User, UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecord:
    """One record kept about a user, with every field it has."""

    kept_in: str
    """Where it is kept: the name of its collection."""
    fields: Mapping[str, object]
    """Each field as stored, in plain values: strings, numbers, booleans, None, aware UTC
    datetimes, and lists and mappings of those."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAbout:
    """Everything kept about one user."""

    user: User | None
    """Their profile, if they have one."""
    records: tuple[StoredRecord, ...]
    """Every record that names them, the profile's included; none about anyone else."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How long what is kept about a user is kept. A profile is kept until it is deleted."""

    deletion_record: timedelta
    """How long the record a deletion leaves (which update deleted) outlives the profile."""
    open_question: timedelta
    """How long a question the bot asked waits for its answer before it is forgotten."""
    conversation: timedelta
    """How long a conversation's record outlives the user's last message."""
    handled_updates: int
    """How many of the user's last updates the conversation's record names."""


class PersonalData(Protocol):
    """Reads what is kept about a user. `stored_about` may raise `StorageUnavailable`."""

    async def stored_about(self, user_id: UserId) -> StoredAbout:
        """Every record kept about the user, as it is now."""
        ...

    def retention(self) -> Retention:
        """How long each kind of record is kept (no storage is asked)."""
        ...
