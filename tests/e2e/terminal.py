"""A command run in a pseudo-terminal, as from an interactive shell: stdin, stdout and
stderr are the terminal, which is also its controlling terminal (so Ctrl-C is SIGINT)."""

import fcntl
import os
import pty
import select
import subprocess
import termios
import time
from pathlib import Path


class Terminal:
    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self._master, replica = pty.openpty()
        self._output = b""
        try:
            self.process = subprocess.Popen(
                args,
                stdin=replica,
                stdout=replica,
                stderr=replica,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=_take_controlling_terminal,  # noqa: PLW1509 - one ioctl
            )
        finally:
            os.close(replica)

    def type(self, keys: str) -> None:
        """Keys as typed: end a line with "\\n"; "\\x03" is Ctrl-C, "\\x04" Ctrl-D."""
        os.write(self._master, keys.encode())

    def output(self) -> str:
        """Everything shown so far, with the terminal's CR LF line ends as "\\n"."""
        return self._output.decode(errors="replace").replace("\r\n", "\n")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Read the screen until `text` has been shown."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} never shown; the terminal shows:\n{self.output()}")

    def wait_for_exit(self, timeout: float = 60) -> int:
        """The exit code, reading whatever is still shown until the process ends."""
        deadline = time.monotonic() + timeout
        while self._read(max(0.0, deadline - time.monotonic())):
            pass
        return self.process.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self._master)

    def _read(self, timeout: float) -> bool:
        """Read what is shown within `timeout`; False at its end (the process closed the
        terminal) or when nothing came."""
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: every process has closed the terminal
            return False
        self._output += chunk
        return bool(chunk)


def _take_controlling_terminal() -> None:
    # In the child, a session leader by now: make stdin its controlling terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
