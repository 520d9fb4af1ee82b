"""The `profilebot` command: `run`, `polling`, `webhook` or `chat` serve the bot until stopped;
`set-webhook URL` and `delete-webhook` tell Telegram, once, where updates go (no MongoDB);
`migrate` upgrades the stored documents to the current schema version.

Exit codes, for a supervisor:

- 0: stopped as asked: SIGINT or SIGTERM once serving, or the end of the chat's input; or
  a one-shot command done.
- 1: an unexpected error (logged with its traceback), or `migrate` stopped by a MongoDB
  failure (one line: run it again).
- 2: a configuration or start-up problem, named in one line on stderr.
- 3: the embedded MongoDB server kept stopping and could not be restarted (one line).
- 128 + N: signal N arrived during start-up, or stopped `migrate` between two batches
  (130 for SIGINT, 143 for SIGTERM; one line).
"""

import argparse
import contextlib
import importlib.metadata
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.secrets import redact
from infrastructure.startup_error import StartupError
from presentation.entrypoints.interruption import Interrupted, StartUpSignals
from presentation.entrypoints.terminal.local_user import LocalUser

if TYPE_CHECKING:
    from infrastructure.settings import Settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_STARTUP_ERROR = 2
EXIT_EMBEDDED_MONGO_LOST = 3

DEFAULT_LOCAL_USER_ID = 1
DEFAULT_MIGRATION_BATCH = 500
CHAT_BANNER = "BOT_TOKEN is not set, so this is a local chat."
"""Printed before the chat's own introduction (`terminal.chat.INTRO`)."""
NOBODY_TO_CHAT_WITH = (
    "configuration error: BOT_TOKEN is not set (an empty value counts as unset) and stdin is"
    " not a terminal, so `run` can neither poll Telegram nor chat; set BOT_TOKEN, or use"
    " `profilebot chat` to pipe messages in"
)
NO_WEBHOOK_SECRET = (
    "configuration error: WEBHOOK_SECRET is not set; Telegram sends it with every update"
    " and the webhook refuses requests without it (1-256 characters of A-Z, a-z, 0-9, _ and -)"
)
NEEDS_TOKEN = ("polling", "webhook", "set-webhook", "delete-webhook")
NEEDS_WEBHOOK_SECRET = ("webhook", "set-webhook")
ONE_SHOTS = ("set-webhook", "delete-webhook")
MAX_WEBHOOK_CONNECTIONS = 100
"""Telegram's limit for setWebhook's max_connections."""

log = logging.getLogger("profilebot")


class EmbeddedMongoLost:
    """The embedded server's `on_lost`: remembers why, and stops the bot the way a
    supervisor would, with SIGTERM to the main thread, so that whatever phase the bot is
    in (starting, polling, chatting) takes its one tested way out."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def __call__(self, reason: str) -> None:
        self.reason = reason
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN, None):
            return  # nothing would catch it: the bot is already shutting down
        main_thread = threading.main_thread().ident
        assert main_thread is not None
        signal.pthread_kill(main_thread, signal.SIGTERM)


def console_main() -> NoReturn:
    """The installed `profilebot` command: `main`, then out of the process at once.

    When `main` returns, what it started is released, in order: the executor drained, the
    client closed, an embedded server stopped with its data flushed. What the interpreter
    would still do on its way out only costs time, about a second after a chat: pymongo
    joins the background threads of the closed client, which notice it in half-second
    sleeps, and tearing down the modules collects the heap aiogram and pydantic leave. So
    the log and the standard streams are flushed here and the process ends.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone, a stream closed
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    server_lost = EmbeddedMongoLost()
    code = EXIT_OK
    with StartUpSignals() as signals:
        try:
            code = _main(args, signals, server_lost)
        except Interrupted as interrupted:
            if server_lost.reason is None:
                return _fail(str(interrupted), [], interrupted.exit_code)
    if server_lost.reason is not None:
        return _fail(server_lost.reason, [], EXIT_EMBEDDED_MONGO_LOST)
    return code


def _main(args: argparse.Namespace, signals: StartUpSignals, lost: EmbeddedMongoLost) -> int:
    # Imported here, after the signal handlers, as everything slow is (pydantic first).
    from infrastructure.settings import load_settings  # noqa: PLC0415
    from presentation.bootstrap.logging_setup import configure_logging  # noqa: PLC0415

    try:
        settings = load_settings()
        mode = _mode(args.command, settings)
        if mode == "set-webhook":
            _check_webhook_url(args.url, settings)
    except StartupError as error:
        return _fail(str(error), [])
    # The chat and migrate talk to a person: warnings only, unless LOG_LEVEL says otherwise
    # (migrate still logs its batches, when not drawing them on a terminal).
    quiet = mode in ("chat", "migrate") and "log_level" not in settings.model_fields_set
    configure_logging(
        "WARNING" if quiet else settings.log_level, settings.secrets(), settings.log_format
    )
    if args.command == "run" and mode == "chat":
        print(CHAT_BANNER, file=sys.stderr, flush=True)
    try:
        if mode in ONE_SHOTS:
            print(redact(_one_shot(args, settings), settings.secrets()), flush=True)
        elif mode == "migrate":
            return _migrate(args, settings, signals, lost)
        else:
            _serve(mode, settings, LocalUser(args.user_id, args.language), signals, lost)
    except StartupError as error:
        return _fail(str(error), settings.secrets())
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        log.exception("profilebot stopped on an unexpected error")
        return EXIT_FAILURE
    return EXIT_OK


def _mode(command: str, settings: "Settings") -> str:
    """What to do: `run` becomes `polling` or `chat`, any other command is itself. `run`
    chats only with someone at a terminal: under a service manager (stdin not a terminal)
    a missing token is a configuration error, not a chat that reads end of input and stops
    with 0."""
    if command == "run":
        if settings.bot_token is not None:
            return "polling"
        if sys.stdin is not None and sys.stdin.isatty():
            return "chat"
        raise StartupError(NOBODY_TO_CHAT_WITH)
    if command in NEEDS_TOKEN and settings.bot_token is None:
        raise StartupError(
            f"configuration error: BOT_TOKEN is not set; {command} needs a bot token"
        )
    if command in NEEDS_WEBHOOK_SECRET and settings.webhook_secret is None:
        raise StartupError(NO_WEBHOOK_SECRET)
    return command


def _check_webhook_url(url: str, settings: "Settings") -> None:
    """Telegram delivers only to https:// URLs. A self-hosted Bot API server (or a local
    stand-in, in tests) may deliver over plain http, so with a TELEGRAM_API_URL other than
    Telegram's own, http:// is accepted too. The URL is not echoed: it is the operator's
    own input, and may hold something private."""
    from infrastructure.settings import DEFAULT_TELEGRAM_API_URL  # noqa: PLC0415

    schemes = (
        ("https",) if settings.telegram_api_url == DEFAULT_TELEGRAM_API_URL else ("https", "http")
    )
    try:
        parts = urlsplit(url)
        acceptable = parts.scheme in schemes and bool(parts.hostname)
    except ValueError:  # a malformed [IPv6] host or port
        acceptable = False
    if not acceptable:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise StartupError(
            f"configuration error: the webhook URL must be a {wanted} URL with a host name"
            + (" (Telegram delivers over HTTPS only)" if schemes == ("https",) else "")
        )


def _serve(
    mode: str,
    settings: "Settings",
    local_user: LocalUser,
    signals: StartUpSignals,
    lost: EmbeddedMongoLost,
) -> None:
    # An embedded server boots while aiogram is imported (seconds, either of them): both
    # happen before the settings could fail, so a configuration error still comes at once.
    embedded = (
        None if settings.mongo_uri else EmbeddedMongo(settings.embedded_mongo_path, on_lost=lost)
    )
    try:
        if embedded is not None:
            embedded.launch()
        _serve_with(mode, settings, local_user, embedded, signals)
    finally:
        if embedded is not None:
            embedded.stop()  # normally already stopped, in order, by the container


def _serve_with(
    mode: str,
    settings: "Settings",
    local_user: LocalUser,
    embedded: EmbeddedMongo | None,
    signals: StartUpSignals,
) -> None:
    import asyncio  # noqa: PLC0415

    from presentation.bootstrap.lifecycle import open_container  # noqa: PLC0415
    from presentation.entrypoints.polling.serve import run_polling  # noqa: PLC0415
    from presentation.entrypoints.terminal.chat import chat_in_terminal  # noqa: PLC0415
    from presentation.entrypoints.webhook.serve import run_webhook  # noqa: PLC0415

    signals.check()  # aiogram took seconds to import
    with open_container(settings, embedded, mode=mode, starting=signals.waiting) as container:
        try:
            if mode == "polling":
                asyncio.run(run_polling(container))
            elif mode == "webhook":
                asyncio.run(run_webhook(container))
            else:
                asyncio.run(chat_in_terminal(container, local_user))
        except Interrupted as interrupted:
            signals.ignore_further(interrupted.signum)
            raise
        finally:
            signals.ignore_further()  # the loop's handlers are gone; shutdown is not cut short


def _migrate(
    args: argparse.Namespace,
    settings: "Settings",
    signals: StartUpSignals,
    lost: EmbeddedMongoLost,
) -> int:
    """`migrate`, on MONGO_URI's database or on the embedded server's data folder. Its
    batches are logged at INFO whatever the level, unless LOG_LEVEL sets one."""
    from presentation.entrypoints.migrate import MigrationStopped, migrate  # noqa: PLC0415
    from presentation.entrypoints.migrate import log as batches  # noqa: PLC0415

    if "log_level" not in settings.model_fields_set:
        batches.setLevel(logging.INFO)

    embedded = (
        None if settings.mongo_uri else EmbeddedMongo(settings.embedded_mongo_path, on_lost=lost)
    )
    try:
        if embedded is not None:
            embedded.launch()
        migrate(
            settings,
            embedded,
            dry_run=args.dry_run,
            batch_size=args.batch_size,
            starting=signals.waiting,
            checkpoint=signals.check,
        )
    except MigrationStopped as stopped:
        return _fail(str(stopped), settings.secrets(), stopped.exit_code)
    finally:
        if embedded is not None:
            embedded.stop()
    return EXIT_OK


def _one_shot(args: argparse.Namespace, settings: "Settings") -> str:
    """`set-webhook` or `delete-webhook`: one Bot API call, no MongoDB (nothing is started);
    the confirmation line to print."""
    import asyncio  # noqa: PLC0415

    from presentation.bootstrap.container import Container  # noqa: PLC0415
    from presentation.entrypoints.webhook.registration import (  # noqa: PLC0415
        delete_webhook,
        set_webhook,
    )

    container = Container(settings=settings)
    try:
        if args.command == "set-webhook":
            registration = set_webhook(
                container, args.url, args.max_connections, args.drop_pending_updates
            )
        else:
            registration = delete_webhook(container, args.drop_pending_updates)
        return asyncio.run(registration)
    finally:
        container.unwire()


def _fail(message: str, secrets: list[str], code: int = EXIT_STARTUP_ERROR) -> int:
    print(f"profilebot: {redact(message, secrets)}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profilebot",
        description="A Telegram profile bot: register, show and rename your profile.",
        epilog="Configuration comes from environment variables and .env (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run", help="poll Telegram if BOT_TOKEN is set, else chat here (needs a terminal)"
    )
    commands.add_parser("polling", help="long-poll the Telegram Bot API at TELEGRAM_API_URL")
    commands.add_parser(
        "webhook",
        help="serve WEBHOOK_PATH on WEBHOOK_HOST:WEBHOOK_PORT for Telegram to POST updates to",
    )
    set_webhook = commands.add_parser(
        "set-webhook", help="register URL with Telegram as the webhook, with WEBHOOK_SECRET"
    )
    set_webhook.add_argument("url", metavar="URL", help="the public https:// URL of the webhook")
    set_webhook.add_argument(
        "--max-connections",
        type=_connections,
        default=None,
        metavar="N",
        help="concurrent deliveries Telegram may make (default WEBHOOK_MAX_CONNECTIONS)",
    )
    delete_webhook = commands.add_parser(
        "delete-webhook", help="remove the webhook, so that polling can fetch updates again"
    )
    for command in (set_webhook, delete_webhook):
        command.add_argument(
            "--drop-pending-updates",
            action="store_true",
            help="also discard the updates Telegram has not delivered yet",
        )
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram needed")
    for command in (run, chat):
        command.add_argument(
            "--user-id",
            type=_positive_int,
            default=DEFAULT_LOCAL_USER_ID,
            help=f"Telegram user id the local chat speaks as (default {DEFAULT_LOCAL_USER_ID})",
        )
        command.add_argument(
            "--language",
            metavar="CODE",
            default=None,
            help="the interface language Telegram reports for that user, e.g. ru (default none)",
        )
    migrate = commands.add_parser(
        "migrate",
        help="upgrade the stored documents to this release's schema version, in batches",
    )
    migrate.add_argument(
        "--dry-run",
        action="store_true",
        help="count, per collection, the documents it would upgrade; change nothing",
    )
    migrate.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_MIGRATION_BATCH,
        metavar="N",
        help=f"documents upgraded per write (default {DEFAULT_MIGRATION_BATCH})",
    )
    parser.set_defaults(user_id=DEFAULT_LOCAL_USER_ID, language=None)
    return parser


def _version() -> str:
    """The installed package's version: pyproject.toml's, the one place it is written."""
    return importlib.metadata.version("profilebot")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _connections(text: str) -> int:
    number = _positive_int(text)
    if number > MAX_WEBHOOK_CONNECTIONS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_WEBHOOK_CONNECTIONS} (Telegram's limit), got {text!r}"
        )
    return number
