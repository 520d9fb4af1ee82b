"""The process's one MongoClient: created, proven reachable, and closed."""

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

import pymongo
from bson.codec_options import CodecOptions
from pymongo import MongoClient, monitoring
from pymongo.database import Database
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from infrastructure.mongo_executor import MongoExecutor
from infrastructure.secrets import mongo_uri_secrets, redact
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError

Document = dict[str, Any]

log = logging.getLogger(__name__)

# Aware UTC datetimes in and out; pymongo's default hands back naive ones.
CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(tz_aware=True, tzinfo=UTC)


_open_clients: set[int] = set()
"""Clients `open_mongo_client` opened and has not closed yet, in this process (by id)."""


def any_client_open() -> bool:
    """False once every client is closed: a closed client's background thread may still
    make one last connection attempt (it checks for shutdown between half-second sleeps),
    and that attempt failing against a server stopping after it says nothing."""
    return bool(_open_clients)


def open_mongo_client(
    uri: str, settings: Settings, listeners: Sequence[monitoring.CommandListener] = ()
) -> Iterator[MongoClient[Document]]:
    """Container resource: a client that has answered a ping, closed on shutdown."""
    client = create_mongo_client(uri, settings, listeners)
    _open_clients.add(id(client))
    try:
        wait_until_reachable(client, settings.mongo_connect_timeout_seconds)
        yield client
    finally:
        _open_clients.discard(id(client))
        client.close()
        log.info("MongoDB client closed")


def create_mongo_client(
    uri: str, settings: Settings, listeners: Sequence[monitoring.CommandListener] = ()
) -> MongoClient[Document]:
    """The client every adapter shares.

    Monitoring polls. After a "not primary" or "shutting down" error pymongo marks the server
    Unknown, and the retry waits until its monitor has checked it again. A polling monitor
    wakes for that within 0.5 s; a streaming one (the default) waits in a `hello` that the
    server answers only on a state change or after `heartbeatFrequencyMS` (10 s), so a
    one-shot error used up the `timeoutMS` budget and became an apology. On a replica set or
    Atlas, an operation waiting for a primary re-checks every member each 0.5 s, so a real
    failover is found at most 0.5 s later than streaming would. Polling is also the cheaper
    mode: one connection and one `hello` per member per 10 s, no pinger. Streaming with a
    500 ms heartbeat recovers too, at 20 times the monitoring load on every member.
    """
    try:
        return MongoClient(
            uri,
            appname="profilebot",
            tz_aware=True,
            tzinfo=UTC,
            # Every executor thread can hold a connection, none should wait for one, and
            # they are opened in the background at start rather than two at a time in the
            # first burst of traffic.
            maxPoolSize=max(100, settings.mongo_executor_threads),
            minPoolSize=settings.mongo_executor_threads,
            timeoutMS=settings.mongo_operation_timeout_ms,
            # A confirmation sent to a user must survive a crash of the database and a failover:
            # writes are acknowledged once a majority of the replica set has journaled them (a
            # write on the primary alone can be rolled back when another member takes over).
            # A write that failed with a retryable error (its
            # answer lost to a network error, a failover) is retried, as often as `timeoutMS`
            # allows (pymongo retries only once without a timeout), and the server applies it
            # at most once.
            w="majority",
            journal=True,
            retryWrites=True,
            retryReads=True,
            serverMonitoringMode="poll",  # see the docstring
            serverSelectionTimeoutMS=int(settings.mongo_connect_timeout_seconds * 1000),
            connect=False,
            event_listeners=list(listeners),
        )
    except (ConfigurationError, ValueError, TypeError) as error:
        reason = redact(str(error), mongo_uri_secrets(uri))
        raise StartupError(f"configuration error: MONGO_URI is not usable: {reason}") from None


def wait_until_reachable(client: MongoClient[Document], timeout_seconds: float) -> None:
    """Ping once, waiting at most `timeout_seconds` for a server to answer."""
    try:
        with pymongo.timeout(timeout_seconds):
            client.admin.command("ping")
    except OperationFailure as error:
        # Reached, but refused: usually bad credentials. errmsg never echoes the password.
        reason = str((error.details or {}).get("errmsg", type(error).__name__))
        raise StartupError(
            f"MongoDB at {_hosts(client)} refused the start-up check: {reason}"
        ) from None
    except PyMongoError as error:
        raise StartupError(
            f"MongoDB at {_hosts(client)} did not answer within {timeout_seconds:g} s"
            f" ({type(error).__name__})"
        ) from None
    log.info("MongoDB is reachable")


def _hosts(client: MongoClient[Document]) -> str:
    seeds = client.topology_description.server_descriptions()
    return ", ".join(f"{host}:{port}" for host, port in seeds) or "MONGO_URI"


def get_database(client: MongoClient[Document], name: str) -> Database[Document]:
    return client.get_database(name, codec_options=CODEC_OPTIONS)


class MongoPing:
    """Readiness: MongoDB answers a ping within the operation time budget.

    Raises `StorageUnavailable` otherwise, through the executor like every other call.
    """

    def __init__(self, client: MongoClient[Document], executor: MongoExecutor) -> None:
        self._client = client
        self._executor = executor

    async def __call__(self) -> None:
        await self._executor.run(self._client.admin.command, "ping")
