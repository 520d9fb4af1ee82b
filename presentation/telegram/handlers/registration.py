"""/start and the answer to "what should I call you?"."""

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from application.errors import UserAlreadyRegistered
from presentation.telegram import buttons, commands, states, texts
from presentation.telegram.filters import InState, TextMessage
from presentation.telegram.handlers.arguments import You
from presentation.telegram.handlers.general import ask_for_name_as_text
from presentation.telegram.states import Registration


async def start(message: Message, state: FSMContext, you: You) -> None:
    """Greet a registered user by name; ask anyone else for a name, offering the one
    Telegram has for them."""
    profile = await you.profile()
    if profile is None:
        await state.set_state(Registration.waiting_for_name)
        offered = buttons.offered_name(message.from_user)
        await message.answer(texts.ask_name(), reply_markup=buttons.name_keyboard(offered))
        return
    reply = texts.already_registered(profile.name)
    current = await you.state()
    await message.answer(
        states.with_reminder(reply, current), reply_markup=buttons.keyboard_after(current)
    )


async def name_received(message: Message, text: str, state: FSMContext, you: You) -> None:
    """Register with the name (an invalid one is answered by the errors router), and with
    the language the user chose before having a profile, if they did."""
    try:
        profile = await you.register(text)
    except UserAlreadyRegistered as error:  # registered meanwhile, e.g. from another device
        await state.clear()
        reply = texts.already_registered(error.profile.name)
        await message.answer(reply, reply_markup=buttons.NO_KEYBOARD)
        return
    await state.clear()
    await message.answer(texts.registered(profile.name), reply_markup=buttons.NO_KEYBOARD)


def command_router() -> Router:
    router = Router(name="registration-commands")
    router.message.register(start, commands.START.filter())
    return router


def conversation_router() -> Router:
    router = Router(name="registration-conversation")
    waiting = InState(Registration.waiting_for_name)
    router.message.register(name_received, waiting, TextMessage())
    router.message.register(ask_for_name_as_text, waiting)
    return router
