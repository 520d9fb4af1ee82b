"""The latency proxy's wire log reads commands and their answers from MongoDB's OP_MSG."""

import struct
from collections.abc import Mapping

import bson

from bench.wire_log import WireLog

OP_MSG = 2013


def message(request_id: int, response_to: int, sections: bytes, flags: int = 0) -> bytes:
    body = struct.pack("<i", flags) + sections
    return struct.pack("<iiii", 16 + len(body), request_id, response_to, OP_MSG) + body


def body(document: Mapping[str, object]) -> bytes:
    return b"\x00" + bson.encode(document)


def sequence(name: str, documents: list[dict[str, object]]) -> bytes:
    payload = name.encode() + b"\x00" + b"".join(bson.encode(d) for d in documents)
    return b"\x01" + struct.pack("<i", 4 + len(payload)) + payload


def test_a_command_is_a_span_from_sent_to_answered_even_cut_into_pieces() -> None:
    log = WireLog(keep_commands=True)
    connection = log.connection()
    request = message(
        7,
        0,
        body({"insert": "users", "$db": "bench"}) + sequence("documents", [{"telegram_id": 1}]),
    )

    connection.sent(request[:10], at=1.0)
    connection.sent(request[10:], at=1.5)
    assert log.pending() == 1
    connection.answered(message(99, 7, body({"ok": 1})), delivered_at=2.0)

    [span] = log.since(0, "bench")
    assert (span.start, span.end, span.command, span.collection) == (1.5, 2.0, "insert", "users")
    assert log.pending() == 0
    assert log.commands == [{"insert": "users", "$db": "bench", "documents": [{"telegram_id": 1}]}]


def test_the_drivers_monitoring_and_unanswered_messages_are_not_commands() -> None:
    log = WireLog()
    connection = log.connection()

    connection.sent(message(1, 0, body({"hello": 1, "$db": "admin"})), at=0.0)
    connection.sent(message(2, 0, body({"insert": "users", "$db": "bench"}), flags=2), at=0.0)
    connection.answered(message(3, 1, body({"ok": 1})), delivered_at=1.0)

    assert log.pending() == 0
    assert log.spans == []


def test_spans_are_chosen_by_database_and_background_collections_left_out() -> None:
    log = WireLog()
    connection = log.connection()
    for request_id, (database, collection) in enumerate(
        [("bench", "users"), ("bench", "leases"), ("other", "users")], start=1
    ):
        command = {"find": collection, "$db": database}
        connection.sent(message(request_id, 0, body(command)), at=0.0)
        connection.answered(message(100, request_id, body({"ok": 1})), delivered_at=1.0)

    chosen = log.since(0, "bench", ignore=frozenset({"leases"}))
    assert [(s.database, s.collection) for s in chosen] == [("bench", "users")]
