"""/forget: delete the user's profile and conversation, after an explicit YES."""

import contextlib

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.forget_user import ForgetUser, ForgetUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import texts
from presentation.telegram.filters import InState
from presentation.telegram.states import Forgetting

CONFIRMATION = "yes"


@inject
async def forget(
    message: Message,
    sender_id: int,
    state: FSMContext,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Ask before deleting anything; there is no undo."""
    try:
        await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await message.answer(texts.NOTHING_TO_FORGET)
        return
    await state.set_state(Forgetting.waiting_for_confirmation)
    await message.answer(texts.CONFIRM_FORGET)


@inject
async def confirmation_received(
    message: Message,
    sender_id: int,
    state: FSMContext,
    forget_user: ForgetUser = Provide["forget_user"],
) -> None:
    """YES deletes the profile; anything else keeps it. Either way the question is closed."""
    if (message.text or "").strip().casefold() != CONFIRMATION:
        await state.clear()
        await message.answer(texts.KEPT)
        return
    # Already gone (say, a YES sent twice) is the outcome the user asked for.
    with contextlib.suppress(UserNotRegistered):
        await forget_user.execute(ForgetUserRequest(user_id=sender_id))
    await state.clear()
    await message.answer(texts.FORGOTTEN)


def command_router() -> Router:
    router = Router(name="forgetting-commands")
    router.message.register(forget, Command("forget"))
    return router


def conversation_router() -> Router:
    router = Router(name="forgetting-conversation")
    router.message.register(confirmation_received, InState(Forgetting.waiting_for_confirmation))
    return router
