"""`profilebot chat`: the same bot in a terminal, each typed line a message from a local user."""

import asyncio
import itertools
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User

from presentation.container import Container
from presentation.dispatcher import build_dispatcher
from presentation.lifecycle import prepare_storage
from presentation.local_session import LocalBotSession

# A well-formed token that no real bot has; its id (1) keeps chat conversations apart from
# the real bot's in the FSM collection, while profiles are shared with it by user id.
LOCAL_BOT_TOKEN = "1:local-terminal-chat"

log = logging.getLogger(__name__)


async def run_chat(
    container: Container,
    lines: AsyncIterator[str],
    print_reply: Callable[[str], None],
    user_id: int,
) -> None:
    """Feed each line to the dispatcher as a private message; print what the bot sends."""

    def on_request(method: TelegramMethod[Any]) -> None:
        if isinstance(method, SendMessage):
            print_reply(method.text)

    bot = Bot(LOCAL_BOT_TOKEN, session=LocalBotSession(on_request))
    dispatcher = build_dispatcher(container.fsm_storage(), container.settings())
    await prepare_storage(container)
    update_ids = itertools.count(1)
    async for text in lines:
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

    Read by a daemon thread: a thread blocked in `input()` must not keep the process alive
    after Ctrl-C, as one in the loop's default executor would.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    prompt = "you> " if sys.stdin.isatty() else ""

    def read() -> None:
        while True:
            try:
                line: str | None = input(prompt)
            except (EOFError, OSError):
                line = None
                if prompt:
                    print()  # end the prompt's line, as shells do on Ctrl-D
            loop.call_soon_threadsafe(queue.put_nowait, line)
            if line is None:
                return
            if prompt:
                ready.wait()
                ready.clear()

    ready = threading.Event()
    threading.Thread(target=read, name="stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        if line.strip():
            yield line
        ready.set()


def print_reply(text: str) -> None:
    print(text, end="\n\n", flush=True)
