"""/rename and the answer to "what should your new name be?"."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.rename_user import RenameUser, RenameUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from domain.user_name import InvalidUserName
from presentation import texts
from presentation.container import Container
from presentation.states import Renaming


@inject
async def rename(
    message: Message,
    sender_id: int,
    state: FSMContext,
    raw_state: str | None,
    show_profile: ShowProfile = Provide[Container.show_profile],
) -> None:
    """Ask a registered user for the new name."""
    try:
        profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await message.answer(texts.with_reminder(texts.NOT_REGISTERED, raw_state))
        return
    await state.set_state(Renaming.waiting_for_new_name)
    await message.answer(texts.ask_new_name(profile.name))


@inject
async def new_name_received(
    message: Message,
    sender_id: int,
    state: FSMContext,
    rename_user: RenameUser = Provide[Container.rename_user],
) -> None:
    """Rename; an unusable name keeps the question open."""
    if message.text is None:
        await message.answer(texts.NEED_TEXT_NAME)
        return
    try:
        result = await rename_user.execute(
            RenameUserRequest(user_id=sender_id, new_name=message.text)
        )
    except InvalidUserName as error:
        await message.answer(texts.invalid_name(error.problem))
        return
    except UserNotRegistered:
        await state.clear()
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
    router.message.register(new_name_received, Renaming.waiting_for_new_name)
    return router
