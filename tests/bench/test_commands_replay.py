"""Commands recorded for one user, made again for another."""

import datetime as dt

from bson import ObjectId

from bench.commands_replay import for_user, mentions, replayable

RECORDED = {
    "update": "fsm_states",
    "updates": [
        {
            "q": {"_id": "fsm:1:500:500:default", "handled": {"$ne": 9}},
            "u": [{"$set": {"handled": [9], "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}}],
            "upsert": True,
        }
    ],
    "lsid": {"id": "session"},
    "$db": "bench",
}


def test_the_user_is_swapped_in_numbers_and_keys_and_nothing_else() -> None:
    again = for_user(RECORDED, 500, 7)

    update = again["updates"][0]
    assert update["q"] == {"_id": "fsm:1:7:7:default", "handled": {"$ne": 9}}
    assert update["u"] == RECORDED["updates"][0]["u"]  # type: ignore[index]
    assert update["upsert"] is True


def test_every_object_id_is_made_anew() -> None:
    first = ObjectId()
    again = for_user({"_id": first, "telegram_id": 500}, 500, 7)

    assert again["telegram_id"] == 7
    assert isinstance(again["_id"], ObjectId)
    assert again["_id"] != first


def test_the_drivers_session_fields_are_dropped_and_the_command_stays_first() -> None:
    command = replayable(RECORDED)

    assert next(iter(command)) == "update"
    assert "lsid" not in command
    assert "$db" not in command


def test_a_document_mentions_the_user_in_a_number_or_a_key_only() -> None:
    assert mentions({"telegram_id": 500}, 500)
    assert mentions({"_id": "fsm:1:500:500:default"}, 500)
    assert not mentions({"telegram_id": 501, "flag": True, "_id": ObjectId()}, 500)
