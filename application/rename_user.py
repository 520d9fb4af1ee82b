"""Use case: a registered user changes their name."""

from dataclasses import dataclass

from application.clock import Clock
from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.user_repository import UserNotFound, UserRepository
from domain.user import UserId
from domain.user_name import UserName


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameUserRequest:
    user_id: int
    new_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameUserResponse:
    profile: UserProfile
    changed: bool
    """False when the new name equals the current one; nothing was written then."""


class RenameUser:
    """Gives a registered user a new name."""

    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    async def execute(self, request: RenameUserRequest) -> RenameUserResponse:
        """Raises `InvalidUserName`, `UserNotRegistered` or `StorageUnavailable`."""
        new_name = UserName(request.new_name)
        user = await self._users.get(UserId(request.user_id))
        if user is None:
            raise UserNotRegistered(request.user_id)
        if user.name == new_name:
            return RenameUserResponse(profile=UserProfile.of(user), changed=False)
        renamed = user.renamed(new_name, self._clock())
        try:
            await self._users.update(renamed)
        except UserNotFound:
            raise UserNotRegistered(request.user_id) from None
        return RenameUserResponse(profile=UserProfile.of(renamed), changed=True)
