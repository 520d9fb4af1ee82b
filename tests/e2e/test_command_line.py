"""The `profilebot` command as a user runs it: local chat (piped and in a terminal), embedded
database, bad set-ups."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from presentation.entrypoints.cli import CHAT_BANNER
from presentation.entrypoints.terminal.chat import INTRO
from presentation.telegram import texts
from presentation.telegram.translation import speaking
from tests.e2e.profilebot_process import clean_env, profilebot_command, run
from tests.e2e.terminal import Terminal

pytestmark = pytest.mark.e2e


def replies(stdout: str) -> list[str]:
    return [reply for reply in stdout.split("\n\n") if reply.strip()]


@pytest.mark.mongo
def test_chat_reads_piped_lines_and_prints_the_replies(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name)

    result = run(["chat"], tmp_path, env, stdin="/start\nAda\n\n/me\n")

    assert result.returncode == 0, result.stderr
    ask, name_choices, registered, profile, profile_choices = replies(result.stdout)
    assert (ask, registered) == (texts.ask_name(), texts.registered("Ada"))
    assert name_choices == "  [1] Terminal   [2] ❌ Cancel"
    assert profile.startswith("Name: Ada\nRegistered: ")
    assert profile_choices == "  #1: [1] ✏️ Rename   [2] 🗑 Delete"
    assert result.stderr == ""


@pytest.mark.mongo
def test_chat_in_russian_with_the_language_option(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name)

    result = run(["chat", "--language", "ru", "--user-id", "5"], tmp_path, env, stdin="/start\n")

    assert result.returncode == 0, result.stderr
    with speaking("ru"):
        assert replies(result.stdout) == [texts.ask_name(), "  [1] Terminal   [2] ❌ Отмена"]


@pytest.mark.mongo
def test_chat_taps_the_buttons_it_lists_by_number(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name)

    # Register with the offered name, then Delete under the profile, then "Yes, delete it".
    result = run(["chat"], tmp_path, env, stdin="/start\n1\n/me\n2\n1\n/me\n")

    assert result.returncode == 0, result.stderr
    shown = replies(result.stdout)
    assert shown[2:3] + shown[5:] == [
        texts.registered("Terminal"),
        texts.confirm_forget(),
        "  #2: [1] 🗑 Yes, delete it   [2] Keep it",
        texts.forgotten(),
        texts.not_registered(),
    ]
    assert result.stderr == ""


@pytest.mark.mongo
def test_chat_stops_quietly_when_its_reader_goes_away(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name, FLOOD_BURST="10000")
    chat = piped_chat(tmp_path, env)
    assert chat.stdin is not None
    assert chat.stdout is not None
    assert chat.stderr is not None
    chat.stdin.write("/help\n" * 500)  # ~200 KB of replies: more than a pipe buffers
    chat.stdin.close()

    assert chat.stdout.readline() == texts.help_text().splitlines()[0] + "\n"
    chat.stdout.close()  # as `profilebot chat | head -1` does

    assert chat.wait(120) == 0
    assert chat.stderr.read() == ""


@pytest.mark.mongo
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_ends_a_piped_chat_whose_input_is_still_open_with_exit_code_0(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str, stop_signal: signal.Signals
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name)
    chat = piped_chat(tmp_path, env)
    assert chat.stdin is not None
    assert chat.stdout is not None
    chat.stdin.write("/help\n")
    chat.stdin.flush()
    assert chat.stdout.readline() == texts.help_text().splitlines()[0] + "\n"  # serving

    chat.send_signal(stop_signal)

    _, errors = chat.communicate(timeout=60)  # closes stdin only after the signal
    assert chat.returncode == 0, errors
    assert errors == ""


def test_chat_without_configuration_uses_an_embedded_database_that_persists(
    tmp_path: Path,
) -> None:
    env = clean_env()

    first = run(["chat"], tmp_path, env, stdin="/start\nAda\n")
    second = run(["chat", "--user-id", "1"], tmp_path, env | {"LOG_LEVEL": "DEBUG"}, stdin="/me\n")

    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert replies(first.stdout) == [
        texts.ask_name(),
        "  [1] Terminal   [2] ❌ Cancel",
        texts.registered("Ada"),
    ]
    # The second run could not open the data folder had the first left its server running.
    assert second.returncode == 0, second.stderr
    assert replies(second.stdout)[0].startswith("Name: Ada\n")
    assert (tmp_path / ".data" / "mongo").is_dir()
    shutdown = ["MongoDB executor drained", "MongoDB client closed", "stopped embedded MongoDB"]
    positions = [second.stderr.find(line) for line in shutdown]
    assert -1 not in positions
    assert positions == sorted(positions), second.stderr


def test_a_piped_chat_lets_its_embedded_server_finish_its_own_stop_and_keeps_the_data(
    tmp_path: Path,
) -> None:
    first = run(["chat"], tmp_path, clean_env(LOG_LEVEL="INFO"), stdin="/start\nAda\n")
    second = run(["chat"], tmp_path, clean_env(), stdin="/me\n")

    assert first.returncode == 0, first.stderr
    [pid] = re.findall(r"started embedded MongoDB \(pid (\d+)\)", first.stderr)
    # Exit code 0: the server's own SIGTERM handler ran its stop (connections drained,
    # storage closed) to the end; it was neither killed nor cut short.
    assert f"stopped embedded MongoDB (pid {pid}, code 0)" in first.stderr
    assert "killing it" not in first.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)  # gone, not left behind
    server_log = (tmp_path / ".data" / "secantusd.log").read_text()
    assert "WARNING" not in server_log, server_log  # nor a stuck connection on its way out
    assert "ERROR" not in server_log, server_log
    assert second.returncode == 0, second.stderr
    assert replies(second.stdout)[0].startswith("Name: Ada\n")


def test_run_in_a_terminal_without_a_token_shows_the_banner_chats_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    terminal = Terminal([profilebot_command(), "run"], tmp_path, clean_env(LOG_LEVEL="INFO"))
    try:
        terminal.wait_for(CHAT_BANNER)
        terminal.wait_for(INTRO)
        terminal.wait_for("you> ")
        terminal.type("/start\n")
        terminal.wait_for(texts.ask_name())
        terminal.type("Ada\n")
        terminal.wait_for(texts.registered("Ada"))

        terminal.type("\x03")  # Ctrl-C

        assert terminal.wait_for_exit() == 0
    finally:
        terminal.close()
    shown = terminal.output()
    # Ctrl-C reached the bot alone; it stopped its server after closing its client.
    assert shown.index("MongoDB client closed") < shown.index("stopped embedded MongoDB")
    assert "exited unexpectedly" not in shown
    assert "Traceback" not in shown


@pytest.mark.parametrize("token", ["", None], ids=["BOT_TOKEN=", "BOT_TOKEN unset"])
def test_run_without_a_token_and_without_a_terminal_is_a_configuration_error(
    tmp_path: Path, token: str | None
) -> None:
    env = clean_env() if token is None else clean_env(BOT_TOKEN=token)

    result = run(["run"], tmp_path, env, stdin="/start\n")

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("profilebot: configuration error: BOT_TOKEN is not set"), line
    assert not (tmp_path / ".data").exists()  # refused before any server was started


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"LOG_LEVEL": "LOUD"}, "configuration error: LOG_LEVEL: "),
        ({"BOT_TOKEN": "hunter2-not-a-token"}, "configuration error: BOT_TOKEN: not a bot token"),
        ({"MONGO_URI": "postgres://bob:hunter2@db"}, "configuration error: MONGO_URI: must start"),
        ({"MONGO_DB": "a/b"}, "configuration error: MONGO_DB: "),
        ({"TELEGRAM_API_URL": "ftp://example"}, "configuration error: TELEGRAM_API_URL: "),
        ({"MONGO_EXECUTOR_THREADS": "0"}, "configuration error: MONGO_EXECUTOR_THREADS: "),
        (
            {"MONGO_URI": "mongodb://bob:hunter2@127.0.0.1:notaport"},
            "configuration error: MONGO_URI is not usable: ",
        ),
        (
            {
                "MONGO_URI": "mongodb://bob:hunter2@127.0.0.1:1",
                "MONGO_CONNECT_TIMEOUT_SECONDS": "1",
            },
            "MongoDB at 127.0.0.1:1 did not answer within 1 s",
        ),
    ],
)
def test_a_bad_setup_is_one_line_exit_code_2_and_no_secret(
    tmp_path: Path, settings: dict[str, str], expected: str
) -> None:
    result = run(["chat"], tmp_path, clean_env(**settings))

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"profilebot: {expected}"), line
    assert "hunter2" not in result.stderr


def test_settings_are_read_from_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=\nLOG_LEVEL=LOUD\n")

    result = run(["chat"], tmp_path, clean_env())

    assert result.returncode == 2
    assert result.stderr.startswith("profilebot: configuration error: LOG_LEVEL: ")


def test_polling_without_a_token_is_refused(tmp_path: Path) -> None:
    result = run(["polling"], tmp_path, clean_env(MONGO_URI="mongodb://127.0.0.1:1"))

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "profilebot: configuration error: BOT_TOKEN is not set; polling needs a bot token"
    ]


def piped_chat(cwd: Path, env: dict[str, str]) -> "subprocess.Popen[str]":
    """`profilebot chat` with its stdin, stdout and stderr as pipes this test holds."""
    return subprocess.Popen(
        [profilebot_command(), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        text=True,
    )
