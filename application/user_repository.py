"""The port through which use cases keep users; adapters implement it for a real database."""

from typing import Protocol

from domain.user import User, UserId


class UserAlreadyExists(Exception):
    """`add` found a user with the same id already stored."""


class UserNotFound(Exception):
    """`update` found no stored user with that id."""


class UserRepository(Protocol):
    """Users by Telegram id. Every method may raise `StorageUnavailable`."""

    async def get(self, user_id: UserId) -> User | None:
        """The stored user, or None."""
        ...

    async def add(self, user: User) -> None:
        """Store a new user; raise `UserAlreadyExists` if the id is taken, atomically."""
        ...

    async def update(self, user: User) -> None:
        """Replace the stored user's mutable fields; raise `UserNotFound` if there is none."""
        ...
