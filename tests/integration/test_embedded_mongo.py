"""The embedded server's start-up knows its own child from a stranger on the port, and its
restart budget is a sliding window."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure import embedded_mongo
from infrastructure.embedded_mongo import EmbeddedMongo, RestartBudget
from infrastructure.startup_error import StartupError


@pytest.fixture
def foreign_listener() -> Iterator[int]:
    """A socket of this test process listening on a loopback port: not a MongoDB server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.mark.mongo
def test_a_foreign_listener_on_the_chosen_port_is_a_startup_error_naming_the_port(
    tmp_path: Path, foreign_listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_mongo, "free_loopback_port", lambda: foreign_listener)
    server = EmbeddedMongo(data_dir=tmp_path / "mongo")
    try:
        with pytest.raises(StartupError) as error:
            server.start(timeout_seconds=60)
    finally:
        server.stop()

    assert str(error.value) == (
        f"the embedded MongoDB server could not listen on 127.0.0.1:{foreign_listener}:"
        " another process is listening there"
    )


def test_the_restart_budget_allows_the_limit_within_the_window_and_refills_after_it() -> None:
    now = [0.0]
    budget = RestartBudget(limit=3, window_seconds=600, clock=lambda: now[0])

    def spend_at(seconds: float) -> bool:
        now[0] = seconds
        return budget.spend()

    assert [spend_at(t) for t in (0, 100, 200, 599)] == [True, True, True, False]
    assert spend_at(600) is True  # the first restart has left the window, the others have not
    assert spend_at(600) is False


@pytest.mark.mongo
def test_a_start_waits_for_a_previous_server_still_holding_the_data_folder(
    tmp_path: Path,
) -> None:
    """As after a bot killed a moment ago: its server is still shutting down when the next
    bot starts on the same folder."""
    previous = EmbeddedMongo(data_dir=tmp_path / "mongo")
    previous.start(timeout_seconds=60)
    releases = threading.Timer(2.0, previous.stop)
    nextone = EmbeddedMongo(data_dir=tmp_path / "mongo")
    started = time.monotonic()
    try:
        releases.start()
        nextone.start(timeout_seconds=60)
        waited = time.monotonic() - started
    finally:
        releases.join()
        previous.stop()
        nextone.stop()

    # Started only once the previous server let go; a start that gave up at the end of the
    # handover time would have raised (a late relaunch may still take seconds to boot).
    assert 2.0 <= waited < 60.0, waited


@pytest.mark.mongo
def test_a_data_folder_held_for_good_fails_the_start_after_the_handover_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded_mongo, "HANDOVER_SECONDS", 2.0)
    holder = EmbeddedMongo(data_dir=tmp_path / "mongo")
    holder.start(timeout_seconds=60)
    second = EmbeddedMongo(data_dir=tmp_path / "mongo")
    started = time.monotonic()
    try:
        with pytest.raises(StartupError, match="is another profilebot using"):
            second.start(timeout_seconds=60)
        gave_up_after = time.monotonic() - started
    finally:
        second.stop()
        holder.stop()

    assert 2.0 <= gave_up_after < 30.0, gave_up_after  # not the 60 s start-up timeout
