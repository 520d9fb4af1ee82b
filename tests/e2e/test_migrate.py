"""`profilebot migrate` as an operator runs it: what it prints on a terminal and off one, a
dry run, a run killed, stopped or failed midway and run again, a database it cannot reach."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from pymongo.database import Database

from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port
from infrastructure.migration import UPGRADES
from infrastructure.mongo_client import Document
from infrastructure.schema import SCHEMA_VERSION, older
from tests.conftest import FailPoints
from tests.e2e.profilebot_process import clean_env, profilebot_command, run, wait_until
from tests.e2e.terminal import Terminal
from tests.version_1 import version_1_documents

pytestmark = [pytest.mark.e2e, pytest.mark.mongo]

USERS = 20
BATCH_LINE = re.compile(r"profilebot\.migrate: (\w+): a batch upgraded (\d+) documents?")


@pytest.fixture
def env(mongo_server: EmbeddedMongo, db_name: str) -> dict[str, str]:
    return clean_env(MONGO_URI=mongo_server.uri, MONGO_DB=db_name)  # LOG_LEVEL unset


def seed(database: Database[Document], users: int = USERS) -> dict[str, int]:
    """Version 1 documents in every collection; how many in each."""
    documents = version_1_documents(users)
    for collection, inserted in documents.items():
        database[collection].insert_many(inserted)
    return {collection: len(inserted) for collection, inserted in documents.items()}


def old(database: Database[Document]) -> dict[str, int]:
    """Documents of an earlier version, by collection."""
    return {u.collection: database[u.collection].count_documents(older()) for u in UPGRADES}


def test_a_dry_run_counts_by_collection_and_changes_nothing(
    tmp_path: Path, env: dict[str, str], database: Database[Document]
) -> None:
    seeded = seed(database)

    result = run(["migrate", "--dry-run"], tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"users: {USERS} documents to upgrade to schema version {SCHEMA_VERSION}",
        f"fsm_states: {USERS} documents to upgrade to schema version {SCHEMA_VERSION}",
        f"leases: 1 document to upgrade to schema version {SCHEMA_VERSION}",
        "dry run: nothing was changed",
    ]
    assert old(database) == seeded


def test_off_a_terminal_it_logs_each_batch_and_a_second_run_finds_nothing(
    tmp_path: Path, env: dict[str, str], database: Database[Document]
) -> None:
    seed(database)

    first = run(["migrate", "--batch-size", "7"], tmp_path, env)
    second = run(["migrate", "--batch-size", "7"], tmp_path, env)

    assert first.returncode == 0, first.stderr
    assert len(first.stderr.splitlines()) == 7, first.stderr  # the batches', nothing else
    assert [(c, int(n)) for c, n in BATCH_LINE.findall(first.stderr)] == [
        ("users", 7),
        ("users", 7),
        ("users", 6),
        ("fsm_states", 7),
        ("fsm_states", 7),
        ("fsm_states", 6),
        ("leases", 1),
    ]
    assert first.stdout.splitlines() == [
        f"users: {USERS} documents upgraded to schema version {SCHEMA_VERSION}",
        f"fsm_states: {USERS} documents upgraded to schema version {SCHEMA_VERSION}",
        f"leases: 1 document upgraded to schema version {SCHEMA_VERSION}",
    ]
    assert old(database) == {"users": 0, "fsm_states": 0, "leases": 0}
    assert second.returncode == 0, second.stderr
    assert BATCH_LINE.findall(second.stderr) == []
    assert second.stdout.splitlines() == [
        f"{u.collection}: none to upgrade (all at schema version {SCHEMA_VERSION})"
        for u in UPGRADES
    ]


def test_on_a_terminal_it_draws_a_progress_bar_instead(
    tmp_path: Path, env: dict[str, str], database: Database[Document]
) -> None:
    seed(database)
    terminal = Terminal([profilebot_command(), "migrate", "--batch-size", "7"], tmp_path, env)
    try:
        assert terminal.wait_for_exit() == 0, terminal.output()
    finally:
        terminal.close()

    shown = terminal.output()
    bar = "\r" + "users".ljust(12) + " [" + "#" * 30 + "] 100%  20/20\x1b[K\n"
    assert bar in shown, shown
    assert "\rusers        [##############" in shown  # drawn after the first batch too
    assert BATCH_LINE.findall(shown) == []
    assert f"leases: 1 document upgraded to schema version {SCHEMA_VERSION}" in shown


def test_killed_midway_it_finishes_when_run_again(
    tmp_path: Path, env: dict[str, str], database: Database[Document]
) -> None:
    users = 1000
    seed(database, users)
    log = tmp_path / "migrate.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [profilebot_command(), "migrate", "--batch-size", "2"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "a batch upgraded" in log.read_text(), 120, "the first batch")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    left = old(database)["users"]
    assert 0 < left < users, "the kill did not land midway"

    again = run(["migrate", "--batch-size", "500"], tmp_path, env)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"users: {left} documents upgraded to schema version 2"
    assert old(database) == {"users": 0, "fsm_states": 0, "leases": 0}
    renamed = database["users"].find({"renamed_by": {"$exists": True}})
    assert list(renamed) == []
    assert database["users"].find_one({"telegram_id": 4}, {"_id": False, "answered_by": True}) == {
        "answered_by": 1004
    }


def test_sigterm_stops_it_between_two_batches_with_one_line(
    tmp_path: Path, env: dict[str, str], database: Database[Document]
) -> None:
    users = 1000
    seed(database, users)
    process = subprocess.Popen(
        [profilebot_command(), "migrate", "--batch-size", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # the first batch's line, then stop it
        if "a batch upgraded" in line:
            process.send_signal(signal.SIGTERM)
            break
    out, err = process.communicate(timeout=60)

    assert process.returncode == 128 + signal.SIGTERM
    last = err.splitlines()[-1]
    stopped = re.fullmatch(
        r"profilebot: the migration was interrupted by SIGTERM after (\d+) documents were"
        r" upgraded; nothing is half done: run it again to carry on",
        last,
    )
    assert stopped is not None, err
    assert old(database)["users"] == users - int(stopped[1])
    assert "Traceback" not in err
    assert out == ""


def test_a_database_that_does_not_answer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = free_loopback_port()
    env = clean_env(MONGO_URI=f"mongodb://127.0.0.1:{port}", MONGO_CONNECT_TIMEOUT_SECONDS="1")

    result = run(["migrate"], tmp_path, env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"profilebot: MongoDB at 127.0.0.1:{port} did not answer within 1 s"
        " (ServerSelectionTimeoutError)"
    ]
    assert result.stdout == ""


def test_without_mongo_uri_it_migrates_the_embedded_servers_data(tmp_path: Path) -> None:
    env = clean_env(EMBEDDED_MONGO_PATH=str(tmp_path / "mongo"))

    result = run(["migrate"], tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{u.collection}: none to upgrade (all at schema version {SCHEMA_VERSION})"
        for u in UPGRADES
    ]
    assert (tmp_path / "mongo").is_dir()


def test_a_mongodb_failure_midway_is_one_line_and_exit_1(
    tmp_path: Path, env: dict[str, str], database: Database[Document], fail_points: FailPoints
) -> None:
    seed(database)
    fail_points.fail(["update"], times=1, errorCode=2)  # BadValue: not retried

    failed = run(["migrate"], tmp_path, env)
    again = run(["migrate"], tmp_path, env)

    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "profilebot: the migration stopped: MongoDB failed (OperationFailure) after 0 documents"
        " were upgraded; nothing is half done: run it again to carry on"
    ]
    assert again.returncode == 0, again.stderr
    assert old(database) == {"users": 0, "fsm_states": 0, "leases": 0}
