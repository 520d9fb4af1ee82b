"""/rename (typed, or the Rename button under the profile) and the answer to "what should
your new name be?"."""

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, Update, User
from aiogram.utils.callback_answer import CallbackAnswer
from dependency_injector.wiring import Provide, inject

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.rename_user import RenameUser, RenameUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import buttons, texts
from presentation.telegram.buttons import ProfileAction, ProfileButton
from presentation.telegram.filters import InState, PressedButton, TextMessage
from presentation.telegram.handlers.general import ask_for_text
from presentation.telegram.handlers.profile import pressed_profile
from presentation.telegram.languages import ReplyLanguage, end_conversation
from presentation.telegram.states import Renaming


@inject
async def rename(
    message: Message,
    *,
    bot: Bot,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Ask a registered user for the new name (one who is not is answered by the errors
    router)."""
    profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    await reply_language.settle(state, profile)
    await _ask_new_name(bot, message.chat.id, message.from_user, profile, state)


@inject
async def rename_pressed(
    query: CallbackQuery,
    *,
    bot: Bot,
    callback_data: ProfileButton,
    sender_id: int,
    pressed: PressedButton,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """The Rename button: /rename for the profile it was under, unless the bot already
    waits for the new name (a second press changes nothing) or that profile is gone."""
    profile = await pressed_profile(
        callback_data=callback_data,
        sender_id=sender_id,
        state=state,
        callback_answer=callback_answer,
        reply_language=reply_language,
        show_profile=show_profile,
        waiting=Renaming.waiting_for_new_name,
        gone=texts.not_registered,
    )
    if profile is not None:
        await _ask_new_name(bot, pressed.chat_id, query.from_user, profile, state)
    await buttons.retire_pressed(bot, state, pressed)


async def _ask_new_name(
    bot: Bot, chat_id: int, sender: User | None, profile: UserProfile, state: FSMContext
) -> None:
    await state.set_state(Renaming.waiting_for_new_name)
    keyboard = buttons.name_keyboard(buttons.offered_name(sender, current=profile.name))
    await bot.send_message(chat_id, texts.ask_new_name(profile.name), reply_markup=keyboard)


@inject
async def new_name_received(
    message: Message,
    *,
    sender_id: int,
    text: str,
    state: FSMContext,
    event_update: Update,
    reply_language: ReplyLanguage,
    rename_user: RenameUser = Provide["rename_user"],
) -> None:
    """Rename (an invalid name is answered by the errors router). The update's id names
    the request, so that delivered again after renaming, it is answered "renamed" again."""
    request = RenameUserRequest(user_id=sender_id, new_name=text, request_id=event_update.update_id)
    try:
        result = await rename_user.execute(request)
    except UserNotRegistered:
        await reply_language.settle(state, profile=None)
        await end_conversation(state)  # the profile is gone; there is nothing left to rename
        await message.answer(texts.not_registered(), reply_markup=buttons.NO_KEYBOARD)
        return
    await reply_language.settle(state, result.profile)
    await state.clear()
    name = result.profile.name
    reply = texts.renamed(name) if result.changed else texts.name_unchanged(name)
    await message.answer(reply, reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="renaming-commands")
    router.message.register(rename, Command("rename", "update_name"))
    pressed = ProfileButton.filter(F.action == ProfileAction.RENAME)
    router.callback_query.register(rename_pressed, pressed)
    return router


def conversation_router() -> Router:
    router = Router(name="renaming-conversation")
    waiting = InState(Renaming.waiting_for_new_name)
    router.message.register(new_name_received, waiting, TextMessage())
    router.message.register(ask_for_text, waiting)
    return router
