"""The `profilebot` command as a user runs it: local chat, embedded database, bad set-ups."""

import subprocess
from pathlib import Path

import pytest

from infrastructure.embedded_mongo import EmbeddedMongo
from presentation.entrypoints.cli import CHAT_BANNER
from presentation.telegram import texts
from tests.e2e.profilebot_process import clean_env, profilebot_command, run

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
    ask, registered, profile = replies(result.stdout)
    assert (ask, registered) == (texts.ASK_NAME, texts.registered("Ada"))
    assert profile.startswith("Name: Ada\nRegistered: ")
    assert result.stderr == ""


@pytest.mark.mongo
def test_chat_stops_quietly_when_its_reader_goes_away(
    tmp_path: Path, mongo_server: EmbeddedMongo, db_name: str
) -> None:
    env = clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name, FLOOD_BURST="10000")
    chat = subprocess.Popen(
        [profilebot_command(), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    assert chat.stdin is not None
    assert chat.stdout is not None
    assert chat.stderr is not None
    chat.stdin.write("/help\n" * 500)  # ~200 KB of replies: more than a pipe buffers
    chat.stdin.close()

    assert chat.stdout.readline() == texts.HELP.splitlines()[0] + "\n"
    chat.stdout.close()  # as `profilebot chat | head -1` does

    assert chat.wait(120) == 0
    assert chat.stderr.read() == ""


def test_run_without_configuration_chats_on_an_embedded_database_that_persists(
    tmp_path: Path,
) -> None:
    env = clean_env()

    first = run(["run"], tmp_path, env, stdin="/start\nAda\n")
    second = run(["run", "--user-id", "1"], tmp_path, env | {"LOG_LEVEL": "DEBUG"}, stdin="/me\n")

    assert first.returncode == 0, first.stderr
    assert first.stderr.strip() == CHAT_BANNER
    assert replies(first.stdout) == [texts.ASK_NAME, texts.registered("Ada")]
    # The second run could not open the data folder had the first left its server running.
    assert second.returncode == 0, second.stderr
    assert replies(second.stdout)[0].startswith("Name: Ada\n")
    assert (tmp_path / ".data" / "mongo").is_dir()
    shutdown = ["MongoDB executor drained", "MongoDB client closed", "stopped embedded MongoDB"]
    positions = [second.stderr.find(line) for line in shutdown]
    assert -1 not in positions
    assert positions == sorted(positions), second.stderr


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
