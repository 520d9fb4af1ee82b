"""Use case: a Telegram user registers with a name."""

from dataclasses import dataclass

from application.clock import Clock
from application.errors import ProfileChangedMeanwhile, UserAlreadyRegistered
from application.profile import UserProfile
from application.user_repository import UserAlreadyExists, UserRepository
from domain.language import Language
from domain.user import User, UserId
from domain.user_name import UserName

ATTEMPTS = 3
"""Inserts tried while another device keeps creating and deleting the same profile."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterUserRequest:
    user_id: int
    name: str
    language: str | None = None
    """A language the user chose before registering, kept with the profile."""
    request_id: int | None = None
    """Identifies the request (a Telegram update): recorded as the one that registered."""


class RegisterUser:
    """Creates the user's profile; there is never more than one per Telegram user.

    Idempotent: asked again with the name the user is registered under, it answers as the
    first time did, so a request delivered twice gets the same answer and one profile.
    """

    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    async def execute(self, request: RegisterUserRequest) -> UserProfile:
        """Raises `InvalidUserName`, `InvalidLanguage`, `UserAlreadyRegistered`,
        `ProfileChangedMeanwhile` or `StorageUnavailable`."""
        user_id = UserId(request.user_id)
        language = Language(request.language) if request.language else None
        user = User.register(user_id, UserName(request.name), self._clock(), language)
        for _ in range(ATTEMPTS):
            try:
                # Insert first and let the store's unique key arbitrate: a prior read would
                # cost a round trip and still race with a concurrent registration.
                await self._users.add(user, request.request_id)
            except UserAlreadyExists:
                existing = await self._users.get(user_id)
                if existing is not None and existing.name == user.name:
                    # Registering again under the same name is this same request delivered
                    # again after its answer was lost (or two devices agreeing): it is done.
                    return UserProfile.of(existing)
                if existing is not None:
                    raise UserAlreadyRegistered(UserProfile.of(existing)) from None
                # Deleted between the two calls (a /forget from another device): the id is
                # free again, so this registration may simply go ahead.
                continue
            return UserProfile.of(user)
        raise ProfileChangedMeanwhile(request.user_id)
