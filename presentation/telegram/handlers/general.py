"""/help, /cancel, and whatever no other handler wanted."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from presentation.telegram import texts


async def help_command(message: Message) -> None:
    """What the bot does and its commands. Needs no storage, so it answers even while
    MongoDB is down or slow."""
    await message.answer(texts.HELP)


async def cancel(message: Message, state: FSMContext) -> None:
    """Leave whatever conversation is in progress."""
    current = await state.get_state()
    if current is None:
        await message.answer(texts.NOTHING_TO_CANCEL)
        return
    await state.clear()
    await message.answer(texts.cancelled(current))


async def ask_for_text(message: Message) -> None:
    """A sticker, photo or voice message where the bot waits for a name."""
    await message.answer(texts.NEED_TEXT_NAME)


async def unrecognised(message: Message) -> None:
    """Point lost users at /help rather than staying silent."""
    await message.answer(texts.unknown_input(message.text))


def command_router() -> Router:
    router = Router(name="general-commands")
    router.message.register(help_command, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router


def fallback_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unrecognised)
    return router
