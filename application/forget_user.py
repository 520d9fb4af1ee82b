"""Use case: a user asks the bot to delete their profile."""

from dataclasses import dataclass

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.user_repository import UserRepository
from domain.user import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgetUserRequest:
    user_id: int
    request_id: int | None = None
    """Identifies the request (a Telegram update): recorded as the one that deleted."""


class ForgetUser:
    """Deletes the user's profile. Asking for confirmation is the front end's job."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def execute(self, request: ForgetUserRequest) -> UserProfile:
        """The profile as it was before it was deleted (a front end may still speak its
        language). Raises `UserNotRegistered` (nothing to delete) or `StorageUnavailable`."""
        removed = await self._users.remove(UserId(request.user_id), request.request_id)
        if removed is None:
            raise UserNotRegistered(request.user_id)
        return UserProfile.of(removed)
