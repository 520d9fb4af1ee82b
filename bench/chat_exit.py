"""How soon `printf '/help\\n' | profilebot chat` exits once it has answered.

Each run is the installed command on the embedded server, in a fresh working folder (so a
fresh data folder), as a user without any configuration starts it. The clock runs from the
answer's first byte on stdout to the process's exit: the chat's shutdown (executor, client,
the embedded server stopping with its data flushed) and the interpreter's own way out.

Run alone with `python -m bench.chat_exit`; `chat_exit()` gives the figures.
"""

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bot_processes import bot_env, profilebot_command
from presentation.telegram import texts

TARGET_SECONDS = 0.5
RUNS = 5
RUN_TIMEOUT_SECONDS = 120.0


def one_run(cwd: Path) -> tuple[float, float]:
    """Seconds from launch to the answer's first byte, and from it to the process's exit."""
    launched = time.perf_counter()
    chat = subprocess.Popen(
        [profilebot_command(), "chat"],
        cwd=cwd,
        env=bot_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert chat.stdin is not None
    assert chat.stdout is not None
    assert chat.stderr is not None
    chat.stdin.write(b"/help\n")
    chat.stdin.close()
    answered, shown = None, b""
    while chunk := os.read(chat.stdout.fileno(), 65536):  # until the process closes it
        answered = answered or time.perf_counter()
        shown += chunk
    code = chat.wait(RUN_TIMEOUT_SECONDS)
    exited = time.perf_counter()
    errors = chat.stderr.read().decode(errors="replace")
    chat.stdout.close()
    chat.stderr.close()
    if code != 0 or answered is None or texts.help_text() not in shown.decode():
        raise RuntimeError(f"the piped chat failed (exit code {code}): {errors.strip()}")
    return answered - launched, exited - answered


def chat_exit(runs: int = RUNS) -> dict[str, Any]:
    """Medians over `runs` piped /help chats, each on a fresh data folder, in seconds."""
    to_answer, to_exit = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="chat-exit-") as folder:
            answer, exit_ = one_run(Path(folder))
        to_answer.append(answer)
        to_exit.append(exit_)
    median = statistics.median(to_exit)
    return {
        "runs": runs,
        "answer_to_exit_s": median,
        "slowest_answer_to_exit_s": max(to_exit),
        "target_s": TARGET_SECONDS,
        "met": median <= TARGET_SECONDS,
        "launch_to_answer_s": statistics.median(to_answer),
    }


def main() -> int:
    figures = chat_exit()
    print(
        f"printf '/help\\n' | profilebot chat, {figures['runs']} runs, fresh data folder each:\n"
        f"  answer -> exit: median {figures['answer_to_exit_s']:.2f} s"
        f" (slowest {figures['slowest_answer_to_exit_s']:.2f} s),"
        f" target <= {TARGET_SECONDS:g} s: {'met' if figures['met'] else 'MISSED'}\n"
        f"  launch -> answer: median {figures['launch_to_answer_s']:.2f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
