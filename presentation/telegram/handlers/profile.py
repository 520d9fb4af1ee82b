"""/me: the user's profile."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import texts


@inject
async def me(
    message: Message,
    sender_id: int,
    state: FSMContext,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Show the stored name and registration date."""
    profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    reply = texts.profile(profile.name, profile.registered_at)
    await message.answer(texts.with_reminder(reply, await state.get_state()))


def command_router() -> Router:
    router = Router(name="profile-commands")
    router.message.register(me, Command("me", "profile", "details"))
    return router
