"""The command menu Telegram shows next to the message box, in each language the bot speaks:
Telegram shows a user the menu registered for their chat (a language chosen with /language),
else the one for their interface language, else the default."""

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat

from presentation.telegram import texts
from presentation.telegram.translation import DEFAULT, LANGUAGES, speaking

log = logging.getLogger(__name__)


def bot_commands() -> list[BotCommand]:
    """The menu in the current language."""
    return [
        BotCommand(command=command, description=description)
        for command, description in texts.command_descriptions().items()
    ]


def menus() -> dict[str | None, list[BotCommand]]:
    """The menu for each Telegram `language_code` to register it under; None is the
    default, for every other language (English)."""
    by_language: dict[str | None, list[BotCommand]] = {}
    for language in LANGUAGES:
        with speaking(language):
            by_language[None if language == DEFAULT else language] = bot_commands()
    return by_language


async def use_menu_in_chat(bot: Bot, chat_id: int, language: str) -> None:
    """The menu in `language` for this chat, whatever its client's language: a choice made
    with /language. Best effort: the default menus still hold if Telegram refuses."""
    with speaking(language):
        commands = bot_commands()
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as error:
        log.info("chat menu not set (%s)", error)


async def drop_menu_in_chat(bot: Bot, chat_id: int) -> None:
    """Back to the menus by client language: the choice is forgotten. Best effort."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as error:
        log.info("chat menu not dropped (%s)", error)
