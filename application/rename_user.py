"""Use case: a registered user changes their name."""

from dataclasses import dataclass

from application.clock import Clock
from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.user_repository import UserRepository
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
    """False when the new name equals the current one; nothing changed then."""


class RenameUser:
    """Gives a registered user a new name."""

    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    async def execute(self, request: RenameUserRequest) -> RenameUserResponse:
        """Raises `InvalidUserName`, `UserNotRegistered` or `StorageUnavailable`."""
        new_name = UserName(request.new_name)
        now = self._clock()
        # One atomic step rather than read-then-write: half the round trips, and a
        # concurrent /forget cannot slip in between.
        before = await self._users.change_name(UserId(request.user_id), new_name, now)
        if before is None:
            raise UserNotRegistered(request.user_id)
        if before.name == new_name:
            return RenameUserResponse(profile=UserProfile.of(before), changed=False)
        return RenameUserResponse(
            profile=UserProfile.of(before.renamed(new_name, now)), changed=True
        )
