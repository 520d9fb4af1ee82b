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
    last_answered_by: int | None
    """The request that last changed the user (see `UserRepository`), before the call."""


class UserRepository(Protocol):
    """Users by Telegram id. Every method may raise `StorageUnavailable`.

    Each method is one atomic step, so an adapter can make it one round trip and no two
    updates of the same user can interleave inside it.

    Registering, renaming and deleting record the request that did it (`request_id`, a
    Telegram update), in the same write: the request that last *answered* one of the front
    end's questions, which a front end whose own record of the step was lost can ask for
    (`answered_by`). A deleted user's record outlives them for that (no name, no profile:
    `get` does not see it) until it expires.
    """

    async def get(self, user_id: UserId) -> User | None:
        """The stored user, or None."""
        ...

    async def add(self, user: User, request_id: int | None = None) -> None:
        """Store a new user, registered by `request_id`; raise `UserAlreadyExists` if the
        id is taken."""
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

    async def remove(self, user_id: UserId, request_id: int | None = None) -> User | None:
        """Delete the user, recording `request_id` as the request that did; return them as
        they were, or None if there was none (then nothing is written)."""
        ...

    async def answered_by(self, user_id: int) -> int | None:
        """The request that last registered, renamed or deleted the user, or None."""
        ...
