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
from pathlib import Path
from typing import Any, TextIO

from aiogram.enums import ChatType
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage, TelegramMethod
from aiogram.types import BufferedInputFile, CallbackQuery, Chat, Message, Update, User
from dependency_injector import providers

from presentation.bootstrap.container import Container
from presentation.entrypoints.interruption import stop_signals_cancel_this_task
from presentation.entrypoints.terminal.choices import Choice, Choices, InlineChoice
from presentation.entrypoints.terminal.local_session import LocalBotSession
from presentation.entrypoints.terminal.local_user import LocalUser

# A well-formed token that no real bot has; its id (1) keeps chat conversations apart from
# the real bot's in the FSM collection, while profiles are shared with it by user id.
LOCAL_BOT_TOKEN = "1:local-terminal-chat"
ESCAPE = "\\"
"""Starts a line to send as a message even if it names a listed button."""
INTRO = (
    "Type to talk to the bot, Ctrl-D to quit. Buttons are listed as numbered choices: a"
    " number or a label taps one of those listed last, #2.1 the first under an older"
    " message marked #2; a line starting with \\ is sent as typed."
)
"""Shown on stderr when a person chats at a terminal (not when input is piped)."""

log = logging.getLogger(__name__)


async def chat_in_terminal(container: Container, local_user: LocalUser) -> None:
    """The chat `profilebot chat` runs: stdin to stdout until end of input; SIGINT (Ctrl-C)
    or SIGTERM end it the same way, so the storage is closed in order afterwards."""
    if sys.stdin.isatty():
        print(INTRO, file=sys.stderr, flush=True)
    with stop_signals_cancel_this_task():
        await run_chat(
            container, stdin_lines(), print_reply, local_user.user_id, local_user.language_code
        )


async def run_chat(
    container: Container,
    lines: AsyncIterator[str],
    print_reply: Callable[[str], None],
    user_id: int,
    language_code: str | None = None,
) -> None:
    """Feed each line to the dispatcher as a private message; print what the bot sends,
    each message's inline buttons under it, numbered and tagged, and the reply keyboard's
    under the replies. A line naming one (see `choices`) taps it, as in Telegram: a
    keyboard button sends its label, an inline one presses it.

    The container must be started; its Bot API session is replaced by one that prints.
    The chat ends at the end of input, or once nobody reads its output any more
    (`profilebot chat | head -3`).
    """
    output, choices = _Output(print_reply), Choices()

    def on_request(method: TelegramMethod[Any]) -> None:
        listed = choices.requested(method)
        for shown in (_shown_to_user(method), listed):
            if shown is not None:
                output.say(shown)

    def on_sent(message: Message) -> None:
        if (listed := choices.sent(message)) is not None:
            output.say(listed)

    container.bot_token.override(providers.Object(LOCAL_BOT_TOKEN))
    session = LocalBotSession(on_request, on_sent)
    container.bot_session.override(providers.Object(session))
    bot, dispatcher = container.bot(), container.dispatcher()
    # Handled update ids are remembered in MongoDB, so each run numbers its updates after
    # every earlier run's: from the clock, in microseconds.
    update_ids = itertools.count(time.time_ns() // 1_000)
    keyboard = ""
    async for text in lines:
        if output.closed:
            break
        sender = _local_user(user_id, language_code)
        update = _update_for(text, choices.chosen(text), next(update_ids), sender)
        said = output.said
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            log.exception("the bot failed on update %d", update.update_id)
        shown, keyboard = keyboard, choices.keyboard_menu()
        if keyboard and (output.said > said or keyboard != shown):
            output.say(keyboard)


class _Output:
    """`print_reply` until nobody reads the output any more; then nothing."""

    def __init__(self, print_reply: Callable[[str], None]) -> None:
        self._print_reply = print_reply
        self.closed = False
        self.said = 0
        """How many texts were printed: whether a line was answered, for the keyboard."""

    def say(self, text: str) -> None:
        if self.closed:
            return
        try:
            self._print_reply(text)
        except BrokenPipeError:
            self.closed = True
            _discard_stdout()
        self.said += 1


def _shown_to_user(method: TelegramMethod[Any]) -> str | None:
    """What Telegram shows of a request: a message's text, a file (here saved, and where
    said), or a pressed button's answer, shown briefly over the chat (here in parentheses)."""
    if isinstance(method, SendMessage):
        return method.text
    if isinstance(method, SendDocument):
        return "\n".join(filter(None, [method.caption, _saved(method, Path.cwd())]))
    if isinstance(method, AnswerCallbackQuery) and method.text:
        return f"({method.text})"
    return None


def _saved(method: SendDocument, folder: Path) -> str:
    """Write the file the bot sent into `folder`, under its name; where it went, in brackets."""
    sent = method.document
    if not isinstance(sent, BufferedInputFile):
        return "[a file that is not kept here]"
    path = folder.resolve() / Path(sent.filename or "file").name
    try:
        path.write_bytes(sent.data)
    except OSError as error:
        return f"[file {path.name} not saved: {error.strerror}]"
    return f"[file saved: {path}]"


def _update_for(line: str, choice: Choice | None, update_id: int, sender: User) -> Update:
    """What a typed line is: a tap on the button it names, else a message with its text.
    A line starting with a backslash is sent as typed, without it, whatever it names
    ("\\2" sends "2", "\\Rename" sends "Rename")."""
    if line.startswith(ESCAPE):
        return local_update(update_id, sender.id, line.removeprefix(ESCAPE), sender)
    if isinstance(choice, InlineChoice):
        return local_button_press(update_id, sender.id, choice.pressed_on, choice.data, sender)
    return local_update(update_id, sender.id, choice.label if choice else line, sender)


def local_update(update_id: int, user_id: int, text: str, sender: User | None = None) -> Update:
    """A private text message from the local user (`sender`, if given, is who Telegram says
    they are), shaped as Telegram would send it."""
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type=ChatType.PRIVATE),
            from_user=sender or _local_user(user_id),
            text=text,
        ),
    )


def local_button_press(
    update_id: int, user_id: int, pressed_on: Message, data: str, sender: User | None = None
) -> Update:
    """The local user pressing a button with callback `data` under the bot's `pressed_on`."""
    return Update(
        update_id=update_id,
        callback_query=CallbackQuery(
            id=str(update_id),
            from_user=sender or _local_user(user_id),
            chat_instance=str(user_id),
            message=pressed_on,
            data=data,
        ),
    )


def _local_user(user_id: int, language_code: str | None = None) -> User:
    return User(id=user_id, is_bot=False, first_name="Terminal", language_code=language_code)


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
