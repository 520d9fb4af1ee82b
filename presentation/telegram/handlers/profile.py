"""/me: the user's profile, with buttons to rename or delete it."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import buttons, texts
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
