"""/rename and the answer to "what should your new name be?"."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.rename_user import RenameUser, RenameUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import texts
from presentation.telegram.filters import InState, TextMessage
from presentation.telegram.handlers.general import ask_for_text
from presentation.telegram.states import Renaming


@inject
async def rename(
    message: Message,
    sender_id: int,
    state: FSMContext,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Ask a registered user for the new name."""
    profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    await state.set_state(Renaming.waiting_for_new_name)
    await message.answer(texts.ask_new_name(profile.name))


@inject
async def new_name_received(
    message: Message,
    *,
    sender_id: int,
    text: str,
    state: FSMContext,
    event_update: Update,
    rename_user: RenameUser = Provide["rename_user"],
) -> None:
    """Rename (an invalid name is answered by the errors router). The update's id names
    the request, so that delivered again after renaming, it is answered "renamed" again."""
    request = RenameUserRequest(user_id=sender_id, new_name=text, request_id=event_update.update_id)
    try:
        result = await rename_user.execute(request)
    except UserNotRegistered:
        await state.clear()  # the profile is gone; there is nothing left to rename
        await message.answer(texts.NOT_REGISTERED)
        return
    await state.clear()
    name = result.profile.name
    await message.answer(texts.renamed(name) if result.changed else texts.name_unchanged(name))


def command_router() -> Router:
    router = Router(name="renaming-commands")
    router.message.register(rename, Command("rename", "update_name"))
    return router


def conversation_router() -> Router:
    router = Router(name="renaming-conversation")
    waiting = InState(Renaming.waiting_for_new_name)
    router.message.register(new_name_received, waiting, TextMessage())
    router.message.register(ask_for_text, waiting)
    return router
