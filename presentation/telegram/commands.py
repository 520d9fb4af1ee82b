"""The bot's commands, declared once (`COMMANDS`): the routers' filters, the /help text and
the command menu all come from it.

Telegram shows a user the menu registered for their chat (a language chosen with /language),
else the one for their interface language, else the default."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BotCommand, BotCommandScopeChat

from presentation.telegram.translation import DEFAULT, LANGUAGES, _, speaking

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEntry:
    """A command: its name, the other names it answers to, its line in the menu and its line
    in /help (both in the current language)."""

    name: str
    aliases: tuple[str, ...] = ()
    menu: Callable[[], str]
    help: Callable[[], str]
    reads_nothing: bool = False
    """Its handler reads neither the profile nor the conversation, so it needs no storage
    at all: not even the user's conversation lease (it answers at once, during an outage
    too, however long another process holds the conversation)."""

    def filter(self) -> Command:
        """Matches the command by any of its names, as a router registers it."""
        return Command(self.name, *self.aliases)

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


START: Final = CommandEntry(
    name="start",
    menu=lambda: _("Register"),
    help=lambda: _("register (I'll ask for your name)"),
)
ME: Final = CommandEntry(
    name="me",
    aliases=("profile", "details"),
    menu=lambda: _("Show your profile"),
    help=lambda: _("show your profile"),
)
RENAME: Final = CommandEntry(
    name="rename",
    aliases=("update_name",),
    menu=lambda: _("Change your name"),
    help=lambda: _("change your name"),
)
FORGET: Final = CommandEntry(
    name="forget",
    menu=lambda: _("Delete your profile"),
    help=lambda: _("delete your profile (I'll ask first)"),
)
LANGUAGE: Final = CommandEntry(
    name="language",
    menu=lambda: _("Choose the language"),
    help=lambda: _("choose the language I speak"),
)
MYDATA: Final = CommandEntry(
    name="mydata",
    menu=lambda: _("Get all I keep about you"),
    help=lambda: _("everything I keep about you, as a file"),
)
PRIVACY: Final = CommandEntry(
    name="privacy",
    menu=lambda: _("What I keep, and for how long"),
    help=lambda: _("what I keep about you, where, for how long, and who sees it"),
    reads_nothing=True,
)
CANCEL: Final = CommandEntry(
    name="cancel",
    menu=lambda: _("Stop what we're doing"),
    help=lambda: _("stop what we're doing"),
)
HELP: Final = CommandEntry(
    name="help",
    menu=lambda: _("What I can do"),
    help=lambda: _("this message"),
    reads_nothing=True,
)
COMMANDS: Final = tuple(
    entry for entry in list(globals().values()) if isinstance(entry, CommandEntry)
)
"""Every command declared above, in the order of the menu and of /help: a new one is
declared here, and a router registers its handler with `entry.filter()`."""


def reads_nothing(text: str | None) -> bool:
    """Whether `text` is sure to reach a handler that reads no storage: one of its
    commands, exactly as the router's filter matches it (case-sensitive). With a mention
    (`/help@name`) it is not sure, since the filter checks the name: such an update is
    treated like any other."""
    command = re.match(r"/(\S+)(?:\s|$)", text or "")
    return command is not None and any(
        command[1] in entry.names() for entry in COMMANDS if entry.reads_nothing
    )


def help_lines() -> list[str]:
    """/help's line for each command, in the current language."""
    return [f"/{entry.name} – {_with_aliases(entry)}" for entry in COMMANDS]


def _with_aliases(entry: CommandEntry) -> str:
    if not entry.aliases:
        return entry.help()
    aliases = ", ".join(f"/{alias}" for alias in entry.aliases)
    return _("{help} (also {aliases})").format(help=entry.help(), aliases=aliases)


def bot_commands() -> list[BotCommand]:
    """The menu in the current language."""
    return [BotCommand(command=entry.name, description=entry.menu()) for entry in COMMANDS]


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
