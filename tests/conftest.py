"""Fixtures shared by every test that needs MongoDB: one real server per test session."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from infrastructure.embedded_mongo import EmbeddedMongo
from infrastructure.mongo_client import CODEC_OPTIONS, Document


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[EmbeddedMongo]:
    """SecantusDB in memory on a free port: a real wire-protocol server, not a mock, which
    accepts `configureFailPoint` so tests can break it on purpose."""
    server = EmbeddedMongo(data_dir=None, enable_test_commands=True)
    server.start(timeout_seconds=30)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_client(mongo_server: EmbeddedMongo) -> Iterator[MongoClient[Document]]:
    client: MongoClient[Document] = MongoClient(mongo_server.uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def db_name(mongo_client: MongoClient[Document], request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this test's own, dropped afterwards. Only for tests marked `mongo`,
    so that `-m "not mongo"` really runs without a database process."""
    if request.node.get_closest_marker("mongo") is None:
        pytest.fail(f"{request.node.nodeid} uses MongoDB but is not marked `mongo`")
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    mongo_client.drop_database(name)


@pytest.fixture
def database(mongo_client: MongoClient[Document], db_name: str) -> Database[Document]:
    return mongo_client.get_database(db_name, codec_options=CODEC_OPTIONS)


class FailPoints:
    """MongoDB's `failCommand` fail point on the shared test server (server-wide)."""

    def __init__(self, client: MongoClient[Document]) -> None:
        self._client = client

    def fail(self, commands: list[str], times: int, **data: Any) -> None:
        """Fail `commands` `times` times (0: until `off`)."""
        self._configure({"times": times} if times > 0 else "alwaysOn", commands, data)

    def fail_after(self, skipped: int, commands: list[str], times: int, **data: Any) -> None:
        """Let `skipped` of `commands` by, then fail them `times` times (both at once: the
        test server takes them together; MongoDB itself takes either one)."""
        self._configure({"skip": skipped, "times": times}, commands, data)

    def _configure(self, mode: object, commands: list[str], data: dict[str, Any]) -> None:
        self._client.admin.command(
            "configureFailPoint", "failCommand", mode=mode, data={"failCommands": commands, **data}
        )

    def off(self) -> None:
        self._client.admin.command("configureFailPoint", "failCommand", mode="off")


@pytest.fixture
def fail_points(mongo_client: MongoClient[Document]) -> Iterator[FailPoints]:
    points = FailPoints(mongo_client)
    yield points
    points.off()
