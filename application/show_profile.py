"""Use case: a user looks at their profile."""

from dataclasses import dataclass

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.user_repository import UserRepository
from domain.user import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowProfileRequest:
    user_id: int


class ShowProfile:
    """Reads the user's profile."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def execute(self, request: ShowProfileRequest) -> UserProfile:
        """Raises `UserNotRegistered` or `StorageUnavailable`."""
        user = await self._users.get(UserId(request.user_id))
        if user is None:
            raise UserNotRegistered(request.user_id)
        return UserProfile.of(user)
