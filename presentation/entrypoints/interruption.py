"""SIGINT and SIGTERM: during start-up they abandon it; once the bot serves, they stop it.

Start-up (importing aiogram, starting the embedded server, creating indexes, publishing the
command menu) takes seconds, and a supervisor may stop the bot at any point of it. Python's
defaults would then kill the process outright (SIGTERM, leaving the embedded server to the
kernel) or print a traceback (SIGINT). Here the first signal raises `Interrupted` where the
start-up is, the normal clean-up runs on the way out, and a second signal does not cut that
bounded clean-up short. Standard library only: the CLI installs this before anything slow.
"""

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Interrupted(BaseException):
    """A stop signal arrived before the bot was serving.

    A `BaseException`, like `KeyboardInterrupt`, so that no `except Exception` on the way
    (in a library being imported, say) swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process a signal ended."""
        return 128 + self.signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name} during start-up"


class StartUpSignals:
    """While active, the first SIGINT or SIGTERM raises `Interrupted` in the main thread;
    later ones are ignored. Leaving restores the previous handlers (the CLI also runs
    in-process, in tests)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, _Handler] = {}

    def __enter__(self) -> "StartUpSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:  # None: not set from Python, so nothing to restore
                signal.signal(signum, handler)

    def check(self) -> None:
        """Raise `Interrupted` if a signal arrived but its exception was lost on the way
        (raised inside a `__del__`, say, where Python only reports it)."""
        if self.received is not None:
            raise Interrupted(self.received)

    def ignore_further(self, signum: int) -> None:
        """After an interruption seen elsewhere (in the event loop, whose handlers are gone
        with it): note it, so that the clean-up that follows is not cut short."""
        self.received = self.received or signum
        if self._previous:
            for each in STOP_SIGNALS:
                signal.signal(each, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signum
        raise Interrupted(signum)


class StopRequest:
    """Which stop signal, if any, cancelled the task (see `stop_signals_cancel_this_task`)."""

    signum: int | None = None


@contextmanager
def stop_signals_cancel_this_task() -> Iterator[StopRequest]:
    """Inside a running event loop: SIGINT or SIGTERM cancel the current task, and the
    block ends quietly with the signal noted in the `StopRequest` it yields.

    The handlers are left installed when the block ends: a later `loop.add_signal_handler`
    (aiogram's polling) replaces them, and closing the loop removes them.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None, "must run inside a task"
    request = StopRequest()

    def on_signal(signum: int) -> None:
        if request.signum is None:
            request.signum = signum
            task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield request
    except asyncio.CancelledError:
        if request.signum is None:
            raise
        task.uncancel()
