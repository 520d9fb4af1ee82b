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
    request_id: int | None = None
    """Identifies the request (a Telegram update): delivered again after its rename
    happened, it gets the answer it got the first time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameUserResponse:
    profile: UserProfile
    changed: bool
    """False when the new name already was the current one, unless this same request made
    it so (a request delivered again); nothing changed now either way."""


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
        change = await self._users.change_name(
            UserId(request.user_id), new_name, now, request.request_id
        )
        if change is None:
            raise UserNotRegistered(request.user_id)
        before = change.before
        if before.name == new_name:
            again = request.request_id is not None and change.last_answered_by == request.request_id
            return RenameUserResponse(profile=UserProfile.of(before), changed=again)
        return RenameUserResponse(
            profile=UserProfile.of(before.renamed(new_name, now)), changed=True
        )
