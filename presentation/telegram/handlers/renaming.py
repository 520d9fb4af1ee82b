"""/rename (typed, or the Rename button under the profile) and the answer to "what should
your new name be?"."""

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User

from application.errors import UserNotRegistered
from application.profile import UserProfile
from presentation.telegram import buttons, commands, texts
from presentation.telegram.buttons import ProfileAction, ProfileButton
from presentation.telegram.filters import InState, TextMessage
from presentation.telegram.handlers.arguments import Press, You
from presentation.telegram.handlers.general import ask_for_name_as_text
from presentation.telegram.handlers.profile import pressed_profile
from presentation.telegram.states import Renaming


async def rename(message: Message, bot: Bot, state: FSMContext, you: You) -> None:
    """Ask a registered user for the new name (one who is not is answered by the errors
    router)."""
    profile = await you.registered_profile()
    await _ask_new_name(bot, message.chat.id, message.from_user, profile, state)


async def rename_pressed(
    query: CallbackQuery, callback_data: ProfileButton, press: Press, state: FSMContext, you: You
) -> None:
    """The Rename button: /rename for the profile it was under, unless the bot already
    waits for the new name (a second press changes nothing) or that profile is gone."""
    waiting, gone = Renaming.waiting_for_new_name, texts.not_registered
    profile = await pressed_profile(callback_data, press, you, waiting=waiting, gone=gone)
    if profile is not None:
        await _ask_new_name(press.bot, press.chat_id, query.from_user, profile, state)
    await press.retire(state)


async def _ask_new_name(
    bot: Bot, chat_id: int, sender: User | None, profile: UserProfile, state: FSMContext
) -> None:
    await state.set_state(Renaming.waiting_for_new_name)
    keyboard = buttons.name_keyboard(buttons.offered_name(sender, current=profile.name))
    await bot.send_message(chat_id, texts.ask_new_name(profile.name), reply_markup=keyboard)


async def new_name_received(message: Message, text: str, state: FSMContext, you: You) -> None:
    """Rename (an invalid name is answered by the errors router). Delivered again after
    renaming, the update is answered "renamed" again (`you` names the request)."""
    try:
        result = await you.rename(text)
    except UserNotRegistered:
        await you.end_conversation()  # the profile is gone; there is nothing left to rename
        await message.answer(texts.not_registered(), reply_markup=buttons.NO_KEYBOARD)
        return
    await state.clear()
    name = result.profile.name
    reply = texts.renamed(name) if result.changed else texts.name_unchanged(name)
    await message.answer(reply, reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="renaming-commands")
    router.message.register(rename, commands.RENAME.filter())
    pressed = ProfileButton.filter(F.action == ProfileAction.RENAME)
    router.callback_query.register(rename_pressed, pressed)
    return router


def conversation_router() -> Router:
    router = Router(name="renaming-conversation")
    waiting = InState(Renaming.waiting_for_new_name)
    router.message.register(new_name_received, waiting, TextMessage())
    router.message.register(ask_for_name_as_text, waiting)
    return router
