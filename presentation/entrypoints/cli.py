"""The `profilebot` command: `run`, `polling` or `chat`."""

import argparse
import logging
import sys
from collections.abc import Sequence

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.secrets import redact
from infrastructure.settings import Settings, load_settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap.logging_setup import configure_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_STARTUP_ERROR = 2

DEFAULT_LOCAL_USER_ID = 1
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
    if mode == "polling" and settings.bot_token is None:
        return _fail("configuration error: BOT_TOKEN is not set; polling needs a bot token", [])
    quiet_chat = mode == "chat" and "log_level" not in settings.model_fields_set
    configure_logging("WARNING" if quiet_chat else settings.log_level, settings.secrets())
    if args.command == "run" and mode == "chat":
        print(CHAT_BANNER, file=sys.stderr, flush=True)
    try:
        _serve(mode, settings, args.user_id)
    except StartupError as error:
        return _fail(str(error), settings.secrets())
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        log.exception("profilebot stopped on an unexpected error")
        return EXIT_FAILURE
    return EXIT_OK


def _serve(mode: str, settings: Settings, user_id: int) -> None:
    # An embedded server boots while aiogram is imported (seconds, either of them): both
    # happen before the settings could fail, so a configuration error still comes at once.
    embedded = None if settings.mongo_uri else EmbeddedMongo(settings.embedded_mongo_path)
    try:
        if embedded is not None:
            embedded.launch()
        _serve_with(mode, settings, user_id, embedded)
    finally:
        if embedded is not None:
            embedded.stop()  # normally already stopped, in order, by the container


def _serve_with(
    mode: str, settings: Settings, user_id: int, embedded: EmbeddedMongo | None
) -> None:
    import asyncio  # noqa: PLC0415

    from presentation.bootstrap.lifecycle import open_container  # noqa: PLC0415
    from presentation.entrypoints.polling import run_polling  # noqa: PLC0415
    from presentation.entrypoints.terminal_chat import (  # noqa: PLC0415
        print_reply,
        run_chat,
        stdin_lines,
    )

    with open_container(settings, embedded) as container:
        if mode == "polling":
            asyncio.run(run_polling(container))
        else:
            asyncio.run(run_chat(container, stdin_lines(), print_reply, user_id))


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
    run = commands.add_parser("run", help="poll Telegram if BOT_TOKEN is set, else chat locally")
    commands.add_parser("polling", help="long-poll the Telegram Bot API at TELEGRAM_API_URL")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram needed")
    for command in (run, chat):
        command.add_argument(
            "--user-id",
            type=_positive_int,
            default=DEFAULT_LOCAL_USER_ID,
            help=f"Telegram user id the local chat speaks as (default {DEFAULT_LOCAL_USER_ID})",
        )
    parser.set_defaults(user_id=DEFAULT_LOCAL_USER_ID)
    return parser


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)
