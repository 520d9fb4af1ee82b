"""The `profilebot` command: `run`, `polling` or `chat`."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from infrastructure.settings import load_settings
from infrastructure.startup_error import StartupError
from presentation.lifecycle import open_container
from presentation.logging_setup import configure_logging, redact
from presentation.polling import run_polling
from presentation.terminal_chat import DEFAULT_LOCAL_USER_ID, print_reply, run_chat, stdin_lines

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_STARTUP_ERROR = 2

CHAT_BANNER = (
    "BOT_TOKEN is not set, so this is a local chat: type to talk to the bot, Ctrl-D to quit."
)

log = logging.getLogger("profilebot")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except StartupError as error:
        return _fail(str(error), [])
    mode: str = args.command
    if mode == "run":
        mode = "polling" if settings.bot_token else "chat"
    chat_quiet = mode == "chat" and "log_level" not in settings.model_fields_set
    configure_logging("WARNING" if chat_quiet else settings.log_level, settings.secrets())
    if args.command == "run" and mode == "chat":
        print(CHAT_BANNER, file=sys.stderr, flush=True)
    try:
        with open_container(settings) as container:
            if mode == "polling":
                asyncio.run(run_polling(container, settings))
            else:
                asyncio.run(run_chat(container, stdin_lines(), print_reply, args.user_id))
    except StartupError as error:
        return _fail(str(error), settings.secrets())
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        log.exception("profilebot stopped on an unexpected error")
        return EXIT_FAILURE
    return EXIT_OK


def _fail(message: str, secrets: list[str]) -> int:
    print(f"profilebot: {redact(message, secrets)}", file=sys.stderr)
    return EXIT_STARTUP_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profilebot",
        description="A Telegram profile bot: register, show and rename your profile.",
        epilog="Configuration comes from environment variables and .env (see the README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="poll Telegram if BOT_TOKEN is set, otherwise chat locally")
    commands.add_parser("polling", help="long-poll the Telegram Bot API at TELEGRAM_API_URL")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram needed")
    for command in (chat, commands.choices["run"]):
        command.add_argument(
            "--user-id",
            type=int,
            default=DEFAULT_LOCAL_USER_ID,
            help=f"Telegram user id the local chat speaks as (default {DEFAULT_LOCAL_USER_ID})",
        )
    return parser
