"""/start and the answer to "what should I call you?"."""

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from dependency_injector.wiring import Provide, inject

from application.errors import UserAlreadyRegistered, UserNotRegistered
from application.register_user import RegisterUser, RegisterUserRequest
from application.show_profile import ShowProfile, ShowProfileRequest
from presentation.telegram import buttons, texts
from presentation.telegram.filters import InState, TextMessage
from presentation.telegram.handlers.general import ask_for_text
from presentation.telegram.languages import ReplyLanguage, chosen_in_conversation
from presentation.telegram.states import Registration


@inject
async def start(
    message: Message,
    sender_id: int,
    state: FSMContext,
    reply_language: ReplyLanguage,
    show_profile: ShowProfile = Provide["show_profile"],
) -> None:
    """Greet a registered user by name; ask anyone else for a name, offering the one
    Telegram has for them."""
    try:
        profile = await show_profile.execute(ShowProfileRequest(user_id=sender_id))
    except UserNotRegistered:
        await reply_language.settle(state, profile=None)
        await state.set_state(Registration.waiting_for_name)
        offered = buttons.offered_name(message.from_user)
        await message.answer(texts.ask_name(), reply_markup=buttons.name_keyboard(offered))
        return
    await reply_language.settle(state, profile)
    reply = texts.already_registered(profile.name)
    current = await state.get_state()
    await message.answer(
        texts.with_reminder(reply, current), reply_markup=buttons.keyboard_after(current)
    )


@inject
async def name_received(
    message: Message,
    *,
    sender_id: int,
    text: str,
    state: FSMContext,
    reply_language: ReplyLanguage,
    register_user: RegisterUser = Provide["register_user"],
) -> None:
    """Register with the name (an invalid one is answered by the errors router), and with
    the language the user chose before having a profile, if they did."""
    request = RegisterUserRequest(
        user_id=sender_id, name=text, language=await chosen_in_conversation(state)
    )
    try:
        profile = await register_user.execute(request)
    except UserAlreadyRegistered as error:  # registered meanwhile, e.g. from another device
        await reply_language.settle(state, error.profile)
        await state.clear()
        reply = texts.already_registered(error.profile.name)
        await message.answer(reply, reply_markup=buttons.NO_KEYBOARD)
        return
    await reply_language.settle(state, profile)
    await state.clear()
    await message.answer(texts.registered(profile.name), reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="registration-commands")
    router.message.register(start, CommandStart())
    return router


def conversation_router() -> Router:
    router = Router(name="registration-conversation")
    waiting = InState(Registration.waiting_for_name)
    router.message.register(name_received, waiting, TextMessage())
    router.message.register(ask_for_text, waiting)
    return router
