"""The embedded server's start-up knows its own child from a stranger on the port, and its
restart budget is a sliding window."""

import socket
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
