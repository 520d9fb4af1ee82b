"""/me: the user's profile, with buttons to rename or delete it."""

from collections.abc import Callable

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import buttons, texts
from presentation.telegram.buttons import ProfileButton
from presentation.telegram.languages import ReplyLanguage


@inject
async def me(
    message: Message,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Show the stored name and registration date. The buttons start the same flows as
    /rename and /forget (see those handlers); while the bot waits for a name, the name
    keyboard stays, since a message carries one kind of keyboard only."""
    profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    await reply_language.settle(state, profile)
    reply = texts.profile(profile.name, profile.registered_at)
    await message.answer(
        texts.with_reminder(reply, await state.get_state()),
        reply_markup=buttons.profile_buttons(profile.registered_at),
    )


def command_router() -> Router:
    router = Router(name="profile-commands")
    router.message.register(me, Command("me", "profile", "details"))
    return router


async def pressed_profile(
    *,
    callback_data: ProfileButton,
    sender_id: int,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile,
    waiting: State,
    gone: Callable[[], str],
) -> UserProfile | None:
    """The profile a button under it acts on, its language settled; or None when the press
    changes nothing, with the answer saying why: the bot already waits for what it would
    ask (`waiting`), the profile is gone (`gone()`), or it is not the profile shown."""
    current = await state.get_state()
    if current == waiting.state:
        await reply_language.settle(state)
        callback_answer.text = texts.still_waiting(current)
        return None
    try:
        profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await reply_language.settle(state, profile=None)
        callback_answer.text = gone()
        return None
    await reply_language.settle(state, profile)
    if buttons.profile_since(profile.registered_at) != callback_data.since:
        callback_answer.text = texts.stale_button()
        return None
    return profile
