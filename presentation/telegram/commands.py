"""The command menu Telegram shows next to the message box, in each language the bot speaks:
Telegram shows a user the menu registered for their interface language, else the default."""

from aiogram.types import BotCommand

from presentation.telegram import texts
from presentation.telegram.translation import DEFAULT, LANGUAGES, speaking


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
