"""The read model of a user that use cases hand to their callers."""

from dataclasses import dataclass
from datetime import datetime
from typing import Self

from domain.user import User


@dataclass(frozen=True, slots=True, kw_only=True)
class UserProfile:
    """What callers may see of a user: plain values, no domain objects to misuse."""

    user_id: int
    name: str
    registered_at: datetime
    updated_at: datetime
    language: str | None = None
    """The language the user chose (an ISO 639-1 code), or None."""

    @classmethod
    def of(cls, user: User) -> Self:
        return cls(
            user_id=user.id.value,
            name=user.name.value,
            registered_at=user.created_at,
            updated_at=user.updated_at,
            language=user.language.code if user.language else None,
        )
