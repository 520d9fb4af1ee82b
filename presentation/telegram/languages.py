"""Which language each update is answered in: the user's choice if they made one, else
Telegram's `language_code` (`ru-*` → Russian), else English.

The choice is stored with the profile, or, for a user without one, in the conversation's
data (`LANGUAGE_KEY`). Finding it must not cost a step its round-trip budget, so it is settled
lazily, once per update, before its first text, from what the step reads anyway: what a
handler reads through `handlers.arguments.You` settles it; a step that reads no profile
reads it (one round trip, within every step's budget), and the conversation, which the
step has read already. Until then (and for `/help`, which reads nothing, flood warnings and
outage apologies) the update speaks the language this process last settled for the user,
else Telegram's: after a restart, or on another replica, that is Telegram's until the
user's first step that reads.
"""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, User

from application.errors import StorageUnavailable, UserNotRegistered
from application.profile import UserProfile
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram.translation import LANGUAGES, catalogues, from_telegram, use

LANGUAGE_KEY: Final = "language"
"""In the conversation's data: the choice of a user who has no profile."""
REPLY_LANGUAGE_KEY: Final = "reply_language"


class Unknown:
    """The type of `UNKNOWN`."""


UNKNOWN: Final = Unknown()
"""Passed for a profile the step has not read."""


class LastSettled:
    """The language settled last for each recent user, in this process: what an update
    that reads nothing speaks. Bounded, oldest forgotten first."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._languages: OrderedDict[int, str] = OrderedDict()

    def get(self, user_id: int) -> str | None:
        return self._languages.get(user_id)

    def put(self, user_id: int, language: str) -> None:
        self._languages[user_id] = language
        self._languages.move_to_end(user_id)
        if len(self._languages) > self._capacity:
            self._languages.popitem(last=False)


class ReplyLanguage:
    """The language of one update's replies (in `data[REPLY_LANGUAGE_KEY]`)."""

    def __init__(self, user: User, profiles: ShowProfile, last_settled: LastSettled) -> None:
        self._user = user
        self._profiles = profiles
        self._last_settled = last_settled
        self._settled = False
        self.telegram = from_telegram(user.language_code)
        """What Telegram says the user speaks."""

    @property
    def user(self) -> User:
        return self._user

    @property
    def provisional(self) -> str:
        """What to speak until settled: the language this process last settled for the
        user, else Telegram's."""
        return self._last_settled.get(self._user.id) or self.telegram

    def resume(self) -> None:
        """Speak the provisional language as it is now: an update that waited for the
        user's earlier ones may find a language chosen meanwhile."""
        if not self._settled:
            use(self.provisional)

    async def settle(
        self, state: FSMContext | None, profile: UserProfile | Unknown | None = UNKNOWN
    ) -> str:
        """Find the user's language and speak it from here on; `profile` is the user's
        profile as this step read it (None: none), if it did. The choice kept with the
        profile counts, or, for a user without one, the choice kept with the conversation.
        A storage failure on the way leaves the provisional language (the apology must
        still be said) and teaches nothing."""
        try:
            chosen = await self._chosen(state, profile)
        except StorageUnavailable:
            return self.provisional
        settled = chosen or self.telegram
        self.speak(settled)
        return settled

    def speak(self, language: str) -> None:
        """Speak `language` from here on (say, just chosen), and remember it."""
        self._settled = True
        use(language)
        self._last_settled.put(self._user.id, language)

    def forget_choice(self) -> None:
        """The choice is gone (the profile deleted): updates that read nothing speak
        Telegram's language again. This one goes on in the language it speaks."""
        self._last_settled.put(self._user.id, self.telegram)

    async def _chosen(
        self, state: FSMContext | None, profile: UserProfile | Unknown | None
    ) -> str | None:
        if isinstance(profile, Unknown):
            try:
                profile = await self._profiles.execute(ShowProfileRequest(user_id=self._user.id))
            except UserNotRegistered:
                profile = None
        if profile is not None:
            return profile.language if profile.language in LANGUAGES else None
        return None if state is None else await chosen_in_conversation(state)


class ResumeLanguage(BaseMiddleware):
    """Outer update middleware, once the user's earlier updates are done (inside their
    lock or lease): see `ReplyLanguage.resume`."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        language = data.get(REPLY_LANGUAGE_KEY)
        if isinstance(language, ReplyLanguage):
            language.resume()
        return await handler(event, data)


class SpeakTheUsersLanguage(BaseMiddleware):
    """Outer update middleware, after aiogram's user context: every text said while the
    update is handled, flood warnings and apologies included, is in the user's language
    (provisionally, until a handler settles it)."""

    def __init__(self, profiles: ShowProfile, last_settled: LastSettled | None = None) -> None:
        self._profiles = profiles
        self._last_settled = last_settled or LastSettled()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if not isinstance(user, User):
            return await handler(event, data)
        language = ReplyLanguage(user, self._profiles, self._last_settled)
        data[REPLY_LANGUAGE_KEY] = language
        i18n = catalogues()
        with i18n.context(), i18n.use_locale(language.provisional):
            return await handler(event, data)


async def end_conversation(state: FSMContext) -> None:
    """Clear the conversation, keeping the language chosen by a user without a profile."""
    chosen = await chosen_in_conversation(state)
    await state.clear()
    if chosen is not None:
        await state.update_data({LANGUAGE_KEY: chosen})


async def chosen_in_conversation(state: FSMContext) -> str | None:
    """The language a user without a profile chose, kept with the conversation."""
    chosen = (await state.get_data()).get(LANGUAGE_KEY)
    return chosen if isinstance(chosen, str) and chosen in LANGUAGES else None


async def forget_choice_in_conversation(state: FSMContext) -> None:
    """Drop a choice kept with the conversation (now kept with the profile); no write if
    there is none."""
    if await chosen_in_conversation(state) is not None:
        data = await state.get_data()
        data.pop(LANGUAGE_KEY, None)
        await state.set_data(data)
