"""/help, /cancel (typed or tapped), and whatever no other handler wanted."""

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from presentation.telegram import buttons, commands, states, texts
from presentation.telegram.filters import TextIs
from presentation.telegram.handlers.arguments import You
from presentation.telegram.translation import in_every_language


async def help_command(message: Message) -> None:
    """What the bot does and its commands. Needs no storage, so it answers even while
    MongoDB is down or slow; it leaves any keyboard as it is, not knowing the state."""
    await message.answer(texts.help_text())


async def cancel(message: Message, bot: Bot, state: FSMContext, you: You) -> None:
    """Leave whatever conversation is in progress, its keyboard and buttons with it."""
    current = await you.state()
    if current is None:
        await message.answer(texts.nothing_to_cancel(), reply_markup=buttons.NO_KEYBOARD)
        return
    question = await buttons.open_question(state)
    await you.end_conversation()
    await message.answer(states.cancelled(current), reply_markup=buttons.NO_KEYBOARD)
    if question is not None:
        await buttons.retire(bot, message.chat.id, question)


async def ask_for_name_as_text(message: Message, you: You) -> None:
    """A sticker, photo or voice message where the bot waits for a name."""
    await message.answer(await you.say(texts.need_text_name))


async def unrecognised(message: Message, you: You) -> None:
    """Point lost users at /help rather than staying silent. No conversation is in progress
    here (each has a handler for any message), so a keyboard left over is taken away."""
    reply = await you.say(texts.unknown_input, message.text)
    await message.answer(reply, reply_markup=buttons.NO_KEYBOARD)


async def unknown_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """Callback data no button of this bot carries (forged, or from a version long gone):
    answered, and nothing changed, not even the message it came from, which may carry real
    buttons. Nothing is read either, the language included: the data says nothing worth a
    round trip."""
    callback_answer.text = texts.stale_button()


def command_router() -> Router:
    router = Router(name="general-commands")
    router.message.register(help_command, commands.HELP.filter())
    router.message.register(cancel, commands.CANCEL.filter())
    router.message.register(cancel, TextIs(*in_every_language(texts.cancel_button)))
    return router


def fallback_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unrecognised)
    router.callback_query.register(unknown_button)
    return router
