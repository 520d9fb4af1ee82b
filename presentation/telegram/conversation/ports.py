"""What the conversation mechanism needs from a storage beyond aiogram's `BaseStorage`: one
read that also says which updates were already handled, and one write that records the
update done; and, for several processes, a lease on the conversation that is that read and
that write.

Structural (`Protocol`s), so the adapters in `infrastructure.conversation` implement them
without importing the Telegram package.
"""

from collections.abc import Mapping, Sequence, Set
from contextlib import AbstractAsyncContextManager
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

    @property
    def remembered(self) -> bool:
        """Read from this process's memory of what it wrote last, not from the storage."""
        ...

    @property
    def written_here(self) -> bool:
        """Whether this process wrote it last (if not, a process that died may have left
        it as it was before a step whose effect happened)."""
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
        *,
        after_remembered: bool = False,
    ) -> None:
        """Store `state` (and `data`, unless None) in one write that also records update
        `handled` as done. Raises `RequestAlreadyHandled` if it was already recorded.
        `after_remembered`: the update's read came from memory (`remembered`)."""
        ...


class HeldConversation(Protocol):
    """A conversation this update holds the lease of: read when the lease was taken, and
    written, with the lease let go, when the update is done."""

    @property
    def snapshot(self) -> ConversationSnapshot: ...

    @property
    def server_now_ms(self) -> int:
        """The storage's clock when the lease was taken, in ms (one clock for all processes)."""
        ...

    @property
    def free_since_ms(self) -> int | None:
        """The latest the last holder may have let the lease go (the storage's clock,
        allowing for a change of server; 0: nobody ever held it), if nothing was written to
        the conversation since; None if that is unknown (a holder that never let it go, a
        release by an older version)."""
        ...

    @property
    def flood(self) -> Mapping[str, Any] | None:
        """The user's flood-control bucket as stored."""
        ...

    @property
    def unfinished(self) -> Sequence[int]:
        """Updates whose holders took this conversation before and never let it go (killed,
        lease lost, release failed): their effects may have happened unwritten here."""
        ...

    def stage(self, state: str | None, data: Mapping[str, Any] | None) -> None:
        """Write `state` (and `data`, unless None) when the lease is let go."""
        ...

    def mark_handled(self, update_id: int) -> None:
        """Record `update_id` as handled when the lease is let go."""
        ...

    def stage_flood(self, bucket: Mapping[str, Any]) -> None: ...

    def settle_unfinished(self) -> None:
        """What the unfinished holders left is dealt with: the release forgets them (until
        then, every release keeps them, for the next holder to deal with)."""
        ...


@runtime_checkable
class ConversationLeases(Protocol):
    def hold(
        self, key: StorageKey, update_id: int | None = None
    ) -> AbstractAsyncContextManager[HeldConversation]:
        """The key's conversation, held for the block by update `update_id` alone across
        processes. Raises `ConversationBusy` when another holds it too long, and
        `ConversationLost` when the hold could not be kept (the block was cancelled)."""
        ...


class AnsweredSteps(Protocol):
    """Where a step's effect records its update (the user repository: registering,
    renaming and deleting record it in the same write), so that a conversation left as it
    was before an effect can be told apart from one whose question is still open."""

    async def answered_by(self, user_id: int) -> int | None:
        """The update whose answer to one of the bot's questions last changed the user's
        profile (registered, renamed or deleted it), or None."""
        ...
