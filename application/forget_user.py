"""Use case: a user asks the bot to delete their profile."""

from dataclasses import dataclass

from application.errors import UserNotRegistered
from application.user_repository import UserRepository
from domain.user import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgetUserRequest:
    user_id: int


class ForgetUser:
    """Deletes the user's profile. Asking for confirmation is the front end's job."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def execute(self, request: ForgetUserRequest) -> None:
        """Raises `UserNotRegistered` (nothing to delete) or `StorageUnavailable`."""
        if not await self._users.remove(UserId(request.user_id)):
            raise UserNotRegistered(request.user_id)
