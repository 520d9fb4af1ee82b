"""The command menu Telegram shows next to the message box."""

from aiogram.types import BotCommand

BOT_COMMANDS = [
    BotCommand(command="start", description="Register"),
    BotCommand(command="me", description="Show your profile"),
    BotCommand(command="rename", description="Change your name"),
    BotCommand(command="forget", description="Delete your profile"),
    BotCommand(command="cancel", description="Stop what we're doing"),
    BotCommand(command="help", description="What I can do"),
]
