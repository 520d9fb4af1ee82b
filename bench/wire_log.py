"""The MongoDB commands that pass through `LatencyProxy`, each with when it was sent and when
its answer was delivered, for any client process: the bench cannot register a pymongo
listener inside a bot it runs as a separate program, so it reads the wire instead.

Only OP_MSG is read (every command a modern driver sends); the legacy handshake and
messages nobody answers (`moreToCome`) are skipped, and so are the driver's own monitoring
commands.
"""

import asyncio
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import bson

from bench.critical_path import Span

_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_OP_MSG = 2013
_MORE_TO_COME = 1 << 1
_CHECKSUM_PRESENT = 1 << 0
_MONITORING = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"})
"""Commands a driver sends to watch the server, not for the application."""


class _Messages:
    """Cuts a byte stream into whole wire-protocol messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        found = []
        while len(self._buffer) >= _HEADER.size:
            length = int.from_bytes(self._buffer[:4], "little")
            if len(self._buffer) < length:
                break
            found.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return found


def command_of(message: bytes) -> dict[str, Any] | None:
    """The command an OP_MSG request carries, its document sequences (an insert's
    `documents`, an update's `updates`) folded in as command monitoring shows them; None
    for anything else, or a message nobody answers."""
    opcode = _HEADER.unpack_from(message)[3]
    if opcode != _OP_MSG:
        return None
    flags = int.from_bytes(message[16:20], "little")
    if flags & _MORE_TO_COME:
        return None
    end = len(message) - (4 if flags & _CHECKSUM_PRESENT else 0)
    at, body, sequences = 20, None, {}
    while at < end:
        kind, at = message[at], at + 1
        size = int.from_bytes(message[at : at + 4], "little")
        if kind == 0:
            body = bson.decode(message[at : at + size])
        else:
            name_end = message.index(0, at + 4)
            name = message[at + 4 : name_end].decode()
            sequences[name] = bson.decode_all(message[name_end + 1 : at + size])
        at += size
    return None if body is None else body | sequences


@dataclass
class _Pending:
    start: float
    database: str
    command: str
    collection: str


@dataclass
class WireConnection:
    """One client connection through the proxy: its requests waiting for their answers."""

    log: "WireLog"
    _requests: _Messages = field(default_factory=_Messages)
    _responses: _Messages = field(default_factory=_Messages)
    _pending: dict[int, _Pending] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def sent(self, data: bytes, at: float) -> None:
        """Bytes from the client reached the proxy at `at`."""
        for message in self._requests.feed(data):
            body = command_of(message)
            command = next(iter(body), "") if body else ""
            if body is None or command in _MONITORING:
                continue
            if self.log.keep_commands:
                self.log.commands.append(body)
            target = body.get(command)
            collection = target if isinstance(target, str) else ""
            request_id = _HEADER.unpack_from(message)[1]
            self._pending[request_id] = _Pending(at, str(body.get("$db", "")), command, collection)
            self.log.last_activity = max(self.log.last_activity, at)

    def answered(self, data: bytes, delivered_at: float) -> None:
        """Bytes from the server reached the proxy; they reach the client at `delivered_at`."""
        for message in self._responses.feed(data):
            response_to = _HEADER.unpack_from(message)[2]
            if (pending := self._pending.pop(response_to, None)) is not None:
                self.log.last_activity = max(self.log.last_activity, delivered_at)
                self.log.spans.append(
                    Span(
                        pending.start,
                        delivered_at,
                        pending.database,
                        pending.command,
                        pending.collection,
                    )
                )


@dataclass
class WireLog:
    """Every answered command through the proxy, in the order the answers came. The proxy's
    thread appends; others read once the commands they wait for are in (`quiet`)."""

    spans: list[Span] = field(default_factory=list)
    keep_commands: bool = False
    """Whether to keep each command whole, in `commands` (to send it again elsewhere)."""
    commands: list[dict[str, Any]] = field(default_factory=list)
    last_activity: float = float("-inf")
    """When a command last left a client or an answer last reached one (monotonic)."""
    _connections: list[WireConnection] = field(default_factory=list)

    def connection(self) -> WireConnection:
        connection = WireConnection(self)
        self._connections.append(connection)
        return connection

    def mark(self) -> int:
        return len(self.spans)

    def since(self, mark: int, database: str, ignore: frozenset[str] = frozenset()) -> list[Span]:
        """Spans answered after `mark` on `database`, except those on `ignore`'s collections."""
        return [
            s for s in self.spans[mark:] if s.database == database and s.collection not in ignore
        ]

    def commands_since(
        self, mark: int, database: str, ignore: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """Commands kept (`keep_commands`) since `commands[mark]`, as `since` selects them."""
        return [
            command
            for command in self.commands[mark:]
            if command.get("$db") == database and command.get(next(iter(command))) not in ignore
        ]

    def pending(self) -> int:
        """Commands sent and not answered yet."""
        return sum(c.pending for c in list(self._connections))

    async def quiet(self, gap: float, at_most: float = 300.0) -> None:
        """Wait until no command is pending and nothing passed for `gap` seconds: a step's
        commands after its reply (a write the user's next step would wait for) are in."""
        deadline = time.monotonic() + at_most
        while time.monotonic() < deadline:
            if not self.pending() and time.monotonic() - self.last_activity >= gap:
                return
            await asyncio.sleep(gap / 4)
        raise TimeoutError(f"MongoDB traffic did not stop for {gap} s in {at_most} s")
