"""Documents as 0.1.0 stored them (schema version 1: no version field), for the tests of
`profilebot migrate`."""

from datetime import UTC, datetime

from infrastructure.mongo_client import Document

T0 = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)


def version_1_documents(users: int) -> dict[str, list[Document]]:
    """What 0.1.0 leaves in each collection for `users` users (Telegram ids 1 to `users`):
    profiles (every fourth naming its last rename `renamed_by`, as builds before it did),
    deletions' records, conversations, a poller lease."""
    profiles: list[Document] = []
    for i in range(1, users + 1):
        profile = {"telegram_id": i, "name": f"User {i}", "created_at": T0, "updated_at": T0}
        if i % 4 == 0:
            profiles.append(profile | {"renamed_by": 1000 + i})
        elif i % 4 == 1:
            profiles.append({"telegram_id": i, "answered_by": 1000 + i, "forgotten_at": T0})
        else:
            profiles.append(profile | {"answered_by": 1000 + i, "language": "ru"})
    conversations: list[Document] = [
        {
            "_id": f"42:{i}:{i}",
            "state": "Renaming:waiting_for_name" if i % 2 else None,
            "data": '{"$where": "."}',
            "state_expires_at": T0,
            "expires_at": T0,
            "handled": [1000 + i],
            "writer": "0123abc",
            "flood": {"tokens": 3.5, "at_ms": 1},
        }
        for i in range(1, users + 1)
    ]
    leases: list[Document] = [{"_id": "poller:42", "token": "t", "until_ms": 5, "now_ms": 1}]
    return {"users": profiles, "fsm_states": conversations, "leases": leases}
