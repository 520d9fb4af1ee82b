"""What the bot needs from a conversation store beyond aiogram's `BaseStorage`: one read that
also says which updates were already handled, and one write that records the update done.

Structural (a `Protocol`), so an adapter in `infrastructure` implements it without importing
the Telegram package. A storage without it (aiogram's `MemoryStorage` in the fast tests)
still works, without the durable duplicate check.
"""

from collections.abc import Mapping, Set
from typing import Any, Protocol, runtime_checkable

from aiogram.fsm.storage.base import StorageKey


class ConversationSnapshot(Protocol):
    @property
    def state(self) -> str | None: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def handled(self) -> Set[int]:
        """Ids of this user's recent updates whose handling finished."""
        ...


@runtime_checkable
class ConversationStore(Protocol):
    async def read(self, key: StorageKey) -> ConversationSnapshot:
        """The conversation as stored (an expired one reads as new; `handled` survives)."""
        ...

    async def write(
        self,
        key: StorageKey,
        state: str | None,
        data: Mapping[str, Any] | None,
        handled: int | None,
    ) -> None:
        """Store `state` (and `data`, unless None) in one write that also records update
        `handled` as done. Raises `RequestAlreadyHandled` if it was already recorded."""
        ...
