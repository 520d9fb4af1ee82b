"""The process's one MongoClient: created, proven reachable, and closed."""

import logging
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pymongo
from bson.codec_options import CodecOptions
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from infrastructure.secrets import mongo_uri_secrets, redact
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError

Document = dict[str, Any]

log = logging.getLogger(__name__)

# Aware UTC datetimes in and out; pymongo's default hands back naive ones.
CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(tz_aware=True, tzinfo=UTC)


def open_mongo_client(uri: str, settings: Settings) -> Iterator[MongoClient[Document]]:
    """Container resource: a client that has answered a ping, closed on shutdown."""
    client = create_mongo_client(uri, settings)
    try:
        wait_until_reachable(client, settings.mongo_connect_timeout_seconds)
        yield client
    finally:
        client.close()
        log.info("MongoDB client closed")


def create_mongo_client(uri: str, settings: Settings) -> MongoClient[Document]:
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
            # A confirmation sent to a user must survive a crash of the database: writes are
            # acknowledged once journaled. A write whose answer was lost to a network error
            # or failover is retried once, and the server applies it at most once.
            w=1,
            journal=True,
            retryWrites=True,
            retryReads=True,
            serverSelectionTimeoutMS=int(settings.mongo_connect_timeout_seconds * 1000),
            connect=False,
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
