"""The port through which use cases keep users; adapters implement it for a real database."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.language import Language
from domain.user import User, UserId
from domain.user_name import UserName


class UserAlreadyExists(Exception):
    """`add` found a user with the same id already stored."""


@dataclass(frozen=True, slots=True)
class NameChange:
    """What `UserRepository.change_name` found."""

    before: User
    """The user as it was before the call."""
    last_renamed_by: int | None
    """The request that last changed the name, as it was before the call."""


class UserRepository(Protocol):
    """Users by Telegram id. Every method may raise `StorageUnavailable`.

    Each method is one atomic step, so an adapter can make it one round trip and no two
    updates of the same user can interleave inside it.
    """

    async def get(self, user_id: UserId) -> User | None:
        """The stored user, or None."""
        ...

    async def add(self, user: User) -> None:
        """Store a new user; raise `UserAlreadyExists` if the id is taken."""
        ...

    async def change_name(
        self, user_id: UserId, name: UserName, at: datetime, request_id: int | None = None
    ) -> NameChange | None:
        """Give the stored user `name`, as `User.renamed(name, at)` would, recording
        `request_id` as the request that did; leave both alone when `name` is already
        theirs. Return what was there before, or None if there is no such user (then
        nothing is written)."""
        ...

    async def set_language(self, user_id: UserId, language: Language, at: datetime) -> User | None:
        """Give the stored user `language`, as `User.speaking(language, at)` would, unless
        it is theirs already (then nothing changes); return the user as stored now, or None
        if there is no such user (then nothing is written)."""
        ...

    async def remove(self, user_id: UserId) -> User | None:
        """Delete the user; return them as they were, or None if there was none."""
        ...
