"""The record of handled updates: the ids of a user's last updates whose step finished,
kept in their conversation's document and written in the same write as the step's change,
so a step and its record land together or not at all. A redelivered update is recognised
by reading it; a write that would record an update twice is refused.
"""

from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from infrastructure.mongo_client import Document

HANDLED_KEPT = 100
"""Handled update ids kept per conversation: far more than Telegram ever redelivers at once."""
HANDLED_REMEMBERED = timedelta(hours=48)
"""How long a conversation document outlives its last write: longer than Telegram keeps an
update (24 h), so a redelivered update is always recognised."""


def handled_ids(document: Document | None) -> frozenset[int]:
    return frozenset(i for i in (document or {}).get("handled", []) if isinstance(i, int))


def record_unless_handled(query: Document, update: Document, handled: int) -> None:
    """Make the write (`query`, pipeline `update`) record `handled`, and miss if it is
    recorded already."""
    query["handled"] = {"$ne": handled}
    recorded = {"$concatArrays": [{"$ifNull": ["$handled", []]}, [handled]]}
    update["handled"] = {"$slice": [recorded, -HANDLED_KEPT]}


def recorded(handled: int) -> Document:
    """`handled` recorded, once: for a write whose right to land was decided otherwise
    (by holding the conversation's lease)."""
    before = {"$ifNull": ["$handled", []]}
    return {
        "$cond": [
            {"$in": [handled, before]},
            before,
            {"$slice": [{"$concatArrays": [before, [handled]]}, -HANDLED_KEPT]},
        ]
    }


def upsert_unless_handled(
    states: Collection[Document], query: Document, update: Document, projection: Document
) -> Document | None:
    """Apply the pipeline `update` to the document `query` finds, or insert one; the
    document as written (`projection` of it), or None when `query` missed only because the
    update is already recorded as handled (or another condition in it failed), so that the
    insert clashed with the existing document's key."""
    pipeline = [{"$set": update}]
    try:
        written = states.find_one_and_update(
            query, pipeline, projection, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        written = None
    if written is not None:
        return written
    # Either `query` missed on an existing document, or another process inserted it first
    # (MongoDB does not retry an upsert whose query is not plain equality; the test server
    # has also answered None when losing that race). The document exists now: the same
    # write without upsert tells which.
    return states.find_one_and_update(
        query, pipeline, projection, return_document=ReturnDocument.AFTER
    )
