"""/help, /cancel, and whatever no other handler wanted."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from presentation import texts


async def help_command(message: Message, raw_state: str | None) -> None:
    """What the bot does and its commands."""
    await message.answer(texts.with_reminder(texts.HELP, raw_state))


async def cancel(message: Message, state: FSMContext, raw_state: str | None) -> None:
    """Leave whatever conversation is in progress."""
    if raw_state is None:
        await message.answer(texts.NOTHING_TO_CANCEL)
        return
    await state.clear()
    await message.answer(texts.cancelled(raw_state))


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
