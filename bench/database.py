"""A fresh in-memory MongoDB server for each measurement (SecantusDB slows as it absorbs
writes), optionally behind the latency proxy, whose wire log then records every command."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.latency_proxy import LatencyProxy
from bench.wire_log import WireLog
from infrastructure.embedded_mongo import EmbeddedMongo


@dataclass(frozen=True)
class Database:
    uri: str
    """What the bots connect to: through the proxy, if there is one."""
    direct_uri: str
    """The server itself, for setting up data behind the bots' backs."""
    wire: WireLog
    """The commands through the proxy (none without one)."""


@contextmanager
def fresh_database(delay_seconds: float | None) -> Iterator[Database]:
    """A new server; with `delay_seconds` (0 included), behind a proxy adding that much
    each way."""
    server = EmbeddedMongo(data_dir=None)
    server.start(timeout_seconds=60)
    wire = WireLog()
    try:
        if delay_seconds is None:
            yield Database(server.uri, server.uri, wire)
        else:
            with LatencyProxy(server.port, delay_seconds, wire) as proxy:
                uri = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
                yield Database(uri, server.uri, wire)
    finally:
        server.stop()
