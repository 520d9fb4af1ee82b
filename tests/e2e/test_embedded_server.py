"""`profilebot polling` on its embedded MongoDB server when that server dies under it: it is
restarted on the same port and data folder, and a server that keeps dying stops the bot
with exit code 3 and one line, so that a supervisor restarts the bot."""

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.embedded_mongo import RESTART_LIMIT
from presentation.entrypoints.cli import EXIT_EMBEDDED_MONGO_LOST
from presentation.telegram import texts
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import (
    BotProcess,
    clean_env,
    is_gone,
    live_children,
    processes_using,
    profilebot_command,
    wait_until,
)

pytestmark = pytest.mark.e2e

ADA = 1001
RESTARTED = "restarted embedded MongoDB"


def wait_for_text(path: Path, text: str, count: int, timeout: float = 120) -> None:
    wait_until(lambda: path.read_text().count(text) >= count, timeout, f"{count} x {text!r}")


@pytest.fixture
def embedded_bot(tmp_path: Path, embedded_env: dict[str, str]) -> Iterator[BotProcess]:
    process = BotProcess(tmp_path, embedded_env)
    yield process
    if process.process.poll() is None:
        process.kill()


def test_a_killed_embedded_server_is_restarted_and_the_registration_completes(
    embedded_bot: BotProcess, bot_api: FakeBotApi
) -> None:
    bot_api.send_text(ADA, "/start")
    bot_api.wait_for_reply(ADA, texts.ask_name())
    embedded_bot.wait_for_output(f"user={ADA} handler=start outcome=ok")  # state written
    first = embedded_bot.embedded_server()

    os.kill(first, signal.SIGKILL)
    embedded_bot.wait_for_output(RESTARTED)

    assert embedded_bot.embedded_server() != first
    bot_api.send_text(ADA, "Ada")
    bot_api.wait_for_reply(ADA, texts.registered("Ada"))
    bot_api.send_text(ADA, "/me")
    assert bot_api.wait_for_reply(ADA, "Name: ").startswith("Name: Ada\nRegistered: ")
    assert texts.storage_unavailable() not in bot_api.replies_to(ADA)
    output = embedded_bot.output()
    assert f"embedded MongoDB (pid {first}) exited unexpectedly with code -9 (SIGKILL)" in output
    assert embedded_bot.terminate() == 0
    assert "Traceback" not in embedded_bot.output()


def test_a_server_killed_more_often_than_the_restart_limit_stops_the_bot_with_exit_code_3(
    tmp_path: Path, embedded_bot: BotProcess, bot_api: FakeBotApi
) -> None:
    bot_api.wait_for_call("setMyCommands")
    killed: list[int] = []
    for restarts in range(RESTART_LIMIT + 1):
        embedded_bot.wait_for_output(RESTARTED, count=restarts)
        server = embedded_bot.embedded_server()
        os.kill(server, signal.SIGKILL)
        killed.append(server)

    assert embedded_bot.process.wait(120) == EXIT_EMBEDDED_MONGO_LOST
    output = embedded_bot.output()
    assert [line for line in output.splitlines() if line.startswith("profilebot:")] == [
        f"profilebot: the embedded MongoDB server kept stopping ({RESTART_LIMIT} restarts"
        f" within 10 minutes did not keep it running); its log: {tmp_path / 'secantusd.log'}"
    ]
    assert output.count("exited unexpectedly with code -9 (SIGKILL)") == RESTART_LIMIT + 1
    assert "Traceback" not in output
    assert len(set(killed)) == RESTART_LIMIT + 1
    wait_until(lambda: all(is_gone(pid) for pid in killed), 30, "the killed servers to go")
    assert processes_using(tmp_path / "mongo") == []


def test_a_chat_whose_server_keeps_dying_ends_with_exit_code_3_and_one_line(
    tmp_path: Path,
) -> None:
    errors = tmp_path / "errors.log"
    env = clean_env(EMBEDDED_MONGO_PATH=str(tmp_path / "mongo"))  # a quiet chat: warnings only
    with errors.open("w") as error_output:
        chat = subprocess.Popen(
            [profilebot_command(), "chat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=error_output,
            cwd=tmp_path,
            env=env,
            text=True,
        )
    try:
        assert chat.stdin is not None
        assert chat.stdout is not None
        chat.stdin.write("/help\n")
        chat.stdin.flush()
        assert chat.stdout.readline() == texts.help_text().splitlines()[0] + "\n"  # serving
        for restarts in range(RESTART_LIMIT + 1):
            wait_for_text(errors, RESTARTED, count=restarts)
            [server] = live_children(chat.pid)
            os.kill(server, signal.SIGKILL)

        assert chat.wait(120) == EXIT_EMBEDDED_MONGO_LOST
    finally:
        if chat.poll() is None:
            chat.kill()
    lines = errors.read_text().splitlines()
    assert [line for line in lines if line.startswith("profilebot:")] == [
        f"profilebot: the embedded MongoDB server kept stopping ({RESTART_LIMIT} restarts"
        f" within 10 minutes did not keep it running); its log: {tmp_path / 'secantusd.log'}"
    ]
    assert "Traceback" not in errors.read_text()
    assert processes_using(tmp_path / "mongo") == []
