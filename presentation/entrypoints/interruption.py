"""SIGINT and SIGTERM: during start-up they abandon it; once the bot serves, they stop it.

Start-up (importing aiogram, starting the embedded server, creating indexes, publishing the
command menu) takes seconds, and a supervisor may stop the bot at any point of it. Python's
defaults would then kill the process outright (SIGTERM, leaving the embedded server to the
kernel) or print a traceback (SIGINT). Here the first signal is noted, and start-up leaves
through `Interrupted` at its next checkpoint, or at once where it only waits (for the
database, say), so the normal clean-up runs on the way out; a second signal does not cut that
bounded clean-up short.

A signal never raises through arbitrary code: an exception raised by a handler lands wherever
the main thread happens to be, which during an import can be a weakref callback or a
`__del__`, where Python prints it as "Exception ignored" and drops it. Standard library only:
the CLI installs this before anything slow.
"""

import asyncio
import signal
import sys
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
    """While active, the first SIGINT or SIGTERM is noted; `check` raises it as
    `Interrupted`, and so does the signal itself inside a `waiting` block. Later signals
    are ignored. Leaving restores the previous handlers (the CLI also runs in-process, in
    tests)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, _Handler] = {}
        self._waiting = False
        self._ignoring = False
        self._unraisable_hook = sys.unraisablehook

    def __enter__(self) -> "StartUpSignals":
        global _active  # noqa: PLW0603 - one process, one start-up
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            self._unraisable_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
            _active = self
        return self

    def __exit__(self, *_: object) -> None:
        global _active  # noqa: PLW0603
        if _active is self:
            _active = None
            sys.unraisablehook = self._unraisable_hook
        for signum, handler in self._previous.items():
            if handler is not None:  # None: not set from Python, so nothing to restore
                signal.signal(signum, handler)

    def check(self) -> None:
        """A checkpoint: raise `Interrupted` if a signal has arrived."""
        if self.received is not None:
            raise Interrupted(self.received)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """A block that only waits (on sockets, a child process, sleeps), which a signal
        may end at once: abandoning it leaves nothing half-done."""
        self.check()
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False
        self.check()

    def ignore_further(self, signum: int | None = None) -> None:
        """Once the event loop has ended (its signal handlers went with it), however it
        ended: note the signal that ended it, if one did, and ignore any that come, so that
        the clean-up that follows (executor, client, embedded server) is not cut short."""
        self.received = self.received or signum
        self._ignoring = True
        if self._previous:
            for each in STOP_SIGNALS:
                signal.signal(each, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None or self._ignoring:
            return
        self.received = signum
        if self._waiting:
            self._waiting = False  # raised once; the clean-up on the way out runs on
            raise Interrupted(signum)

    def _unraisable(self, unraisable: "sys.UnraisableHookArgs") -> None:
        """A waiting block's `Interrupted` raised inside a finaliser that ran meanwhile is
        dropped quietly: the signal is noted, and the block's end raises it again."""
        if isinstance(unraisable.exc_value, Interrupted):
            return
        self._unraisable_hook(unraisable)


_active: StartUpSignals | None = None
"""The start-up whose signals are being noted: a signal noted just before the event loop
took the signals over still stops the loop's first task."""


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
    if _active is not None and _active.received is not None:
        on_signal(_active.received)  # arrived before the loop's handlers were installed
    try:
        yield request
    except asyncio.CancelledError:
        if request.signum is None:
            raise
        task.uncancel()
