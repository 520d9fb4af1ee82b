"""`profilebot chat`: the same bot in a terminal, each typed line a message from a local user."""

import asyncio
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from aiogram.enums import ChatType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User
from dependency_injector import providers

from presentation.bootstrap.container import Container
from presentation.entrypoints.interruption import stop_signals_cancel_this_task
from presentation.entrypoints.local_session import LocalBotSession

# A well-formed token that no real bot has; its id (1) keeps chat conversations apart from
# the real bot's in the FSM collection, while profiles are shared with it by user id.
LOCAL_BOT_TOKEN = "1:local-terminal-chat"

log = logging.getLogger(__name__)


async def chat_in_terminal(container: Container, user_id: int) -> None:
    """The chat `profilebot chat` runs: stdin to stdout until end of input; SIGINT (Ctrl-C)
    or SIGTERM end it the same way, so the storage is closed in order afterwards."""
    with stop_signals_cancel_this_task():
        await run_chat(container, stdin_lines(), print_reply, user_id)


async def run_chat(
    container: Container,
    lines: AsyncIterator[str],
    print_reply: Callable[[str], None],
    user_id: int,
) -> None:
    """Feed each line to the dispatcher as a private message; print what the bot sends.

    The container must be started; its Bot API session is replaced by one that prints.
    The chat ends at the end of input, or once nobody reads its output any more
    (`profilebot chat | head -3`).
    """
    output_closed = False

    def on_request(method: TelegramMethod[Any]) -> None:
        nonlocal output_closed
        if isinstance(method, SendMessage) and not output_closed:
            try:
                print_reply(method.text)
            except BrokenPipeError:
                output_closed = True
                _discard_stdout()

    container.bot_token.override(providers.Object(LOCAL_BOT_TOKEN))
    container.bot_session.override(providers.Object(LocalBotSession(on_request)))
    bot, dispatcher = container.bot(), container.dispatcher()
    # Handled update ids are remembered in MongoDB, so each run numbers its updates after
    # every earlier run's: from the clock, in microseconds.
    update_ids = itertools.count(time.time_ns() // 1_000)
    async for text in lines:
        if output_closed:
            break
        update = local_update(next(update_ids), user_id, text)
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            log.exception("the bot failed on update %d", update.update_id)


def local_update(update_id: int, user_id: int, text: str) -> Update:
    """A private text message from the local user, shaped as Telegram would send it."""
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type=ChatType.PRIVATE),
            from_user=User(id=user_id, is_bot=False, first_name="Terminal"),
            text=text,
        ),
    )


async def stdin_lines() -> AsyncIterator[str]:
    """Non-blank lines from stdin until end of input, with a prompt when it is a terminal.

    Read by a daemon thread: a thread blocked reading stdin must not keep the process alive
    after Ctrl-C, as one in the loop's default executor would.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    typed = sys.stdin.isatty()
    lines = _typed_lines("you> ") if typed else _piped_lines(sys.stdin)

    def read() -> None:
        for line in itertools.chain(lines, [None]):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the chat ended (its loop is closed) before input did
                return
            if typed and line is not None:
                ready.wait()  # the prompt comes after the reply
                ready.clear()

    ready = threading.Event()
    threading.Thread(target=read, name="stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        if line.strip():
            yield line
        ready.set()


def _typed_lines(prompt: str) -> Iterator[str]:
    """Lines typed at a terminal, each after a prompt."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, OSError):
            print()  # end the prompt's line, as shells do on Ctrl-D
            return


def _piped_lines(stream: TextIO) -> Iterator[str]:
    """Lines from a pipe or a file, read from its descriptor. Not `stream.readline()`: a
    thread blocked in it holds the stream's lock, and a chat ended by a signal before its
    input ends would then abort at exit, unable to take that lock to close stdin."""
    descriptor, encoding = stream.fileno(), stream.encoding or "utf-8"
    pending = b""
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        *complete, pending = (pending + chunk).split(b"\n")
        yield from (line.decode(encoding, errors="replace") for line in complete)
    if pending:
        yield pending.decode(encoding, errors="replace")


def print_reply(text: str) -> None:
    print(text, end="\n\n", flush=True)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail on
    the closed pipe as well (the recipe in Python's `signal` documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
