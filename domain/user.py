"""The registered user, the one entity of the domain."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Self

from domain.errors import DomainError
from domain.language import Language
from domain.user_name import UserName


class InvalidUserId(DomainError):
    """Telegram user ids are positive integers; anything else is a programming error upstream."""


class TimestampNotUtc(DomainError):
    """A timestamp without a time zone would be read differently on every server."""


@dataclass(frozen=True, slots=True)
class UserId:
    """A Telegram user id."""

    value: int

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value <= 0:
            raise InvalidUserId(f"a Telegram user id is a positive integer, got {self.value!r}")

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A registered user. Immutable: a change produces a new `User`."""

    id: UserId
    name: UserName
    created_at: datetime
    updated_at: datetime
    language: Language | None = None
    """The language the user chose for the bot's replies; None: whatever Telegram says."""

    def __post_init__(self) -> None:
        for moment in (self.created_at, self.updated_at):
            if moment.utcoffset() != timedelta(0):
                raise TimestampNotUtc(f"user timestamps must be in UTC, got {moment!r}")

    @classmethod
    def register(
        cls, user_id: UserId, name: UserName, now: datetime, language: Language | None = None
    ) -> Self:
        """A new user, created and last updated now."""
        return cls(id=user_id, name=name, created_at=now, updated_at=now, language=language)

    def renamed(self, name: UserName, now: datetime) -> Self:
        """This user with a new name, stamped with the time of the change."""
        return replace(self, name=name, updated_at=now)

    def speaking(self, language: Language, now: datetime) -> Self:
        """This user having chosen `language`, stamped with the time of the choice."""
        return replace(self, language=language, updated_at=now)
