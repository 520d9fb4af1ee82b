"""What a handler is handed besides its update, ready to use: `you` (the user, read in their
own language) and, for a pressed button, `press`.

A reply must be in the user's language, and finding it must cost no round trip of its own
(see `presentation.telegram.languages`). So `You` is the only way a handler reads the user
(their profile, their conversation's state) or changes their profile, and every such read
settles the language before it returns; a reply that reads nothing is rendered by
`You.say`, which settles it first. A handler never settles anything itself.

The use cases come from the container: this module is wired, like the handlers.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final, ParamSpec

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, Update
from aiogram.utils.callback_answer import CallbackAnswer
from dependency_injector.wiring import Provide, inject

from application.choose_language import ChooseLanguage, ChooseLanguageRequest
from application.errors import StorageUnavailable, UserAlreadyRegistered, UserNotRegistered
from application.export_personal_data import (
    ExportPersonalData,
    ExportPersonalDataRequest,
    PersonalDataExport,
)
from application.forget_user import ForgetUser, ForgetUserRequest
from application.profile import UserProfile
from application.register_user import RegisterUser, RegisterUserRequest
from application.rename_user import RenameUser, RenameUserRequest, RenameUserResponse
from application.show_profile import ShowProfile
from presentation.telegram import buttons
from presentation.telegram.conversation.early_profile import (
    EARLY_PROFILE_KEY,
    EarlyProfile,
    read_profile,
)
from presentation.telegram.filters import PressedButton
from presentation.telegram.languages import (
    LANGUAGE_KEY,
    REPLY_LANGUAGE_KEY,
    UNKNOWN,
    ReplyLanguage,
    Unknown,
    chosen_in_conversation,
    end_conversation,
    forget_choice_in_conversation,
)

P = ParamSpec("P")

YOU_KEY: Final = "you"
PRESS_KEY: Final = "press"


class You:
    """The user one update comes from (`data["you"]`). Each method reads or changes what a
    step needs and settles the reply language from it, so whatever the handler says next is
    in the user's language. The profile is read at most once per update."""

    def __init__(
        self,
        language: ReplyLanguage,
        state: FSMContext | None,
        update_id: int | None = None,
        early: EarlyProfile | None = None,
    ) -> None:
        """`early`: the profile, read together with taking the conversation's lease."""
        self._language = language
        self._early = early
        self._state = state
        self._update_id = update_id
        """Names the request to the use cases that record it (register, rename, forget), so
        that delivered again after its effect, the update gets the answer it was owed."""
        self._profile: UserProfile | Unknown | None = UNKNOWN
        self._spoken: str | None = None

    @property
    def id(self) -> int:
        return self._language.user.id

    @property
    def language(self) -> str:
        """The language settled (read something first)."""
        return self._spoken or self._language.provisional

    async def say(self, text: Callable[P, str], *args: P.args, **kwargs: P.kwargs) -> str:
        """`text` in the user's language, for a reply that reads nothing else."""
        await self._settle()
        return text(*args, **kwargs)

    @inject
    async def profile(
        self, show_profile: ShowProfile = Provide["show_profile"]
    ) -> UserProfile | None:
        """The user's profile, or None if they have none."""
        if isinstance(self._profile, Unknown):
            profile, _ = await asyncio.gather(
                self._read_profile(show_profile), self._read_state_meanwhile()
            )
            await self._settle(profile)
        return self._profile if isinstance(self._profile, UserProfile) else None

    async def _read_profile(self, show_profile: ShowProfile) -> UserProfile | None:
        if self._early is not None:
            early, self._early = self._early, None
            with suppress(StorageUnavailable):  # read again, as if never read early
                return await early.profile()
        return await read_profile(show_profile, self.id)

    async def _read_state_meanwhile(self) -> None:
        """The conversation, read together with the profile rather than after it: a step
        that reads one nearly always reads the other (for the question it asks, or for the
        one still open), so it costs one round trip where it would cost two. Free when the
        conversation is already in memory."""
        if self._state is not None:
            await self._state.get_state()

    async def registered_profile(self) -> UserProfile:
        """The user's profile; raises `UserNotRegistered` (for the errors router) if none."""
        profile = await self.profile()
        if profile is None:
            raise UserNotRegistered(self.id)
        return profile

    async def state(self) -> str | None:
        """The state of the user's conversation (read first: the profile is read only once
        it is there)."""
        current = None if self._state is None else await self._state.get_state()
        await self._settle()
        return current

    @inject
    async def register(
        self, name: str, register_user: RegisterUser = Provide["register_user"]
    ) -> UserProfile:
        """Register with `name` and the language chosen without a profile; raises what
        `RegisterUser` raises, `UserAlreadyRegistered` settled in the existing profile's."""
        chosen = None if self._state is None else await chosen_in_conversation(self._state)
        request = RegisterUserRequest(
            user_id=self.id, name=name, language=chosen, request_id=self._update_id
        )
        try:
            profile = await register_user.execute(request)
        except UserAlreadyRegistered as error:
            await self._settle(error.profile)
            raise
        await self._settle(profile)
        return profile

    @inject
    async def rename(
        self, new_name: str, rename_user: RenameUser = Provide["rename_user"]
    ) -> RenameUserResponse:
        """Rename; raises what `RenameUser` raises, `UserNotRegistered` settled."""
        request = RenameUserRequest(user_id=self.id, new_name=new_name, request_id=self._update_id)
        try:
            result = await rename_user.execute(request)
        except UserNotRegistered:
            await self._settle(None)
            raise
        await self._settle(result.profile)
        return result

    @inject
    async def forget(self, forget_user: ForgetUser = Provide["forget_user"]) -> None:
        """Delete the profile (already gone is what was asked for too). The reply is said in
        the deleted profile's language, but updates that read nothing speak Telegram's
        from here on: the choice went with the profile."""
        try:
            removed: UserProfile | None = await forget_user.execute(
                ForgetUserRequest(user_id=self.id, request_id=self._update_id)
            )
        except UserNotRegistered:
            removed = None
        await self._settle(removed)
        self._language.forget_choice()

    @inject
    async def choose_language(
        self, code: str, choose_language: ChooseLanguage = Provide["choose_language"]
    ) -> UserProfile | None:
        """Keep the choice with the profile (None: the user has none, so it is kept with the
        conversation, and registering carries it over); speak it from here on."""
        try:
            profile = await choose_language.execute(
                ChooseLanguageRequest(user_id=self.id, language=code)
            )
        except UserNotRegistered:
            profile = None
            if self._state is not None:
                await self._state.update_data({LANGUAGE_KEY: code})
        else:
            if self._state is not None:  # the profile's is the one that counts
                await forget_choice_in_conversation(self._state)
        self._profile = profile
        self._spoken = code
        self._language.speak(code)
        return profile

    @inject
    async def personal_data(
        self, export: ExportPersonalData = Provide["export_personal_data"]
    ) -> PersonalDataExport:
        """Everything kept about the user (registered or not), settled in the language of
        the profile it holds."""
        exported = await export.execute(ExportPersonalDataRequest(user_id=self.id))
        await self._settle(exported.profile)
        return exported

    async def end_conversation(self) -> None:
        """Clear the conversation, keeping a language chosen without a profile."""
        await self._settle()
        if self._state is not None:
            await end_conversation(self._state)

    async def _settle(self, profile: UserProfile | Unknown | None = UNKNOWN) -> None:
        """Settle once, from `profile` as just read, else from the profile read before, else
        by reading it."""
        if profile is not UNKNOWN:
            self._profile = profile
        if self._spoken is not None:
            return
        if isinstance(self._profile, Unknown):
            with suppress(StorageUnavailable):  # the provisional one: the reply must be said
                await self.profile()
            return
        self._spoken = await self._language.settle(self._state, self._profile)


@dataclass(frozen=True, slots=True)
class Press:
    """A pressed button (`data["press"]`): the message it is under, the bot to act on it
    with, and the press's answer, whose `text` the user's screen shows."""

    bot: Bot
    button: PressedButton
    answer: CallbackAnswer

    @property
    def chat_id(self) -> int:
        return self.button.chat_id

    @property
    def message_id(self) -> int:
        return self.button.message_id

    async def retire(self, state: FSMContext) -> None:
        """Take the buttons off the message pressed (see `buttons.retire_pressed`)."""
        await buttons.retire_pressed(self.bot, state, self.button)


class HandYou(BaseMiddleware):
    """Outer update middleware, the innermost, inside the lazy FSM (whose conversation it
    hands on): puts `you` in the data of each try of an update. A handler's data and its
    errors router's are both copied from that try's, so they share one `you`, with what it
    read; a try of an update handled again (`RetryFailedUpdates`) starts from a fresh copy
    and gets its own, over that try's conversation. Nothing else keeps it: it goes with the
    try's data, so memory follows the updates in flight, not the updates ever handled. (A
    table of them by conversation, even a weak one, would keep every one: a `you` refers to
    its conversation.)"""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        language = data.get(REPLY_LANGUAGE_KEY)
        if isinstance(language, ReplyLanguage):
            state, early = data.get("state"), data.get(EARLY_PROFILE_KEY)
            data[YOU_KEY] = You(
                language,
                state if isinstance(state, FSMContext) else None,
                event.update_id if isinstance(event, Update) else None,
                early if isinstance(early, EarlyProfile) else None,
            )
        return await handler(event, data)


class HandPress(BaseMiddleware):
    """Inner middleware of the root router's presses: puts `press` in the handler's data."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        pressed, answer = data.get("pressed"), data.get("callback_answer")
        if isinstance(pressed, PressedButton) and isinstance(answer, CallbackAnswer):
            data[PRESS_KEY] = Press(data["bot"], pressed, answer)
        return await handler(event, data)
