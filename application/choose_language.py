"""Use case: a registered user chooses the language the bot speaks with them."""

from dataclasses import dataclass

from application.clock import Clock
from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.user_repository import UserRepository
from domain.language import Language
from domain.user import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ChooseLanguageRequest:
    user_id: int
    language: str
    """An ISO 639-1 code; whether the bot speaks it is the front end's to check."""


class ChooseLanguage:
    """Keeps the choice with the profile, in one atomic step. (A user without a profile has
    nowhere here to keep it: the front end keeps it with the conversation, and registering
    carries it over.)"""

    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    async def execute(self, request: ChooseLanguageRequest) -> UserProfile:
        """Raises `InvalidLanguage`, `UserNotRegistered` or `StorageUnavailable`."""
        language = Language(request.language)
        user = await self._users.set_language(UserId(request.user_id), language, self._clock())
        if user is None:
            raise UserNotRegistered(request.user_id)
        return UserProfile.of(user)
