"""MongoDB commands and documents recorded for one user, made again for another: the user's
id swapped wherever it appears (a number, or inside a key such as a conversation's `_id`)
and every ObjectId made anew, so that a copy is a new record, not a clash with the first.
The bench uses it to send the very commands our bot sends per registration from a plain
pymongo loop, and to fill a database with users as the bot itself stores them."""

from typing import Any

from bson import ObjectId

SESSION_FIELDS = frozenset(
    {"lsid", "$clusterTime", "txnNumber", "$readPreference", "$db", "autocommit"}
)
"""What the driver adds to a command for its session; a command sent again gets its own."""


def for_user(value: Any, old: int, new: int) -> Any:
    """`value` with user `old` replaced by user `new` throughout."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return new if value == old else value
    if isinstance(value, str):
        return value.replace(str(old), str(new))
    if isinstance(value, ObjectId):
        return ObjectId()
    if isinstance(value, dict):
        return {key: for_user(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [for_user(item, old, new) for item in value]
    return value


def replayable(command: dict[str, Any]) -> dict[str, Any]:
    """A recorded command without the driver's session fields."""
    return {key: value for key, value in command.items() if key not in SESSION_FIELDS}


def mentions(value: Any, user: int) -> bool:
    """Whether `user` appears anywhere in `value` (as `for_user` would find it)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == user
    if isinstance(value, str):
        return str(user) in value
    if isinstance(value, dict):
        return any(mentions(item, user) for item in value.values())
    if isinstance(value, list):
        return any(mentions(item, user) for item in value)
    return False
