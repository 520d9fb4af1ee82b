"""Conversation changes kept in memory after a failed write do not outlive the conversation
and do not pile up."""

from aiogram.fsm.storage.base import StorageKey

from presentation.telegram.conversation.changes import Change, Unsaved


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


def test_a_change_older_than_the_conversations_lifetime_is_dropped() -> None:
    clock = Clock()
    unsaved = Unsaved(max_age_seconds=60, clock=clock)
    unsaved.keep(key(7), Change(state="asking"))

    clock.now += 59
    assert unsaved.get(key(7)) == Change(state="asking")
    clock.now += 2
    assert unsaved.get(key(7)) is None
    assert len(unsaved) == 0


def test_at_most_max_entries_are_kept_the_oldest_go_first() -> None:
    unsaved = Unsaved(max_age_seconds=60, max_entries=3, clock=Clock())
    for user_id in range(1, 5):
        unsaved.keep(key(user_id), Change(state=f"s{user_id}"))

    assert len(unsaved) == 3
    assert unsaved.get(key(1)) is None
    assert unsaved.get(key(4)) == Change(state="s4")
