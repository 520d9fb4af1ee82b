"""How one update reaches its conversation: one interface, one implementation per storage
mode (the picture is in `docs/conversations.md`).

- `InMemory`: aiogram's own storages (`MemoryStorage` in the fast tests). They keep no
  record of handled updates; a change reads first all the same, for the step the
  conversation may owe (`changes.OwedStep`), which is kept in its data.
- `InOneProcess`: MongoDB, one process serving the user. The read (`find_one`) also says
  which updates were handled, so it runs before any change and recognises a redelivery;
  the write (one `update_one`, after the replies) records the update, and is refused if
  it already was. A question another process left open (one that died) is checked
  against the profile's record of the step that last answered one.
- `UnderLease`: MongoDB, several processes. Taking the user's lease was the read (and the
  redelivery check, before the update reached the FSM); letting it go is the write, and
  records every update. `WithoutLease` is the same mode when the lease could not be taken
  (MongoDB did not answer): whatever needs the conversation fails as in an outage, while
  `/help` still answers.

In the two modes without a lease, the write runs outside the update's time budget; if it
fails, the change is kept in memory (`Unsaved`) and carried into the user's next update.
"""

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiogram.fsm.storage.base import BaseStorage, StorageKey

from application.errors import StorageUnavailable
from application.time_budget import outside_budget
from infrastructure.conversation.errors import RequestAlreadyHandled
from presentation.telegram.conversation.changes import Change, Unsaved, ended_by, split_owed
from presentation.telegram.conversation.ports import (
    AnsweredSteps,
    ConversationSnapshot,
    ConversationStore,
    HeldConversation,
)

log = logging.getLogger(__name__)

ACCESS_KEY: Final = "conversation_access"
"""Where the lease middleware leaves an update's `ConversationAccess` for the lazy FSM."""

Stored = tuple[str | None, Mapping[str, Any]]
Resolve = Callable[[Change], Awaitable[tuple[str | None, dict[str, Any] | None]]]
"""The state to write (read first if only the data changed) and the data, None if
unchanged."""


class ConversationAccess(ABC):
    """Where one update's read of its conversation comes from, and what its one write at
    the end is."""

    @abstractmethod
    async def read(self) -> Stored:
        """The conversation as stored. Raises `RequestAlreadyHandled` if this update was
        handled to the end before, `StorageUnavailable` if it cannot be read."""

    @abstractmethod
    async def finish(self, change: Change, resolve: Resolve, *, record: bool) -> bool:
        """The update's one write: `change` (perhaps nothing), and the update recorded as
        handled if `record` (false: the update failed). True if the write found the update
        handled already (a redelivery)."""


class _WrittenAtTheEnd(ConversationAccess):
    """The modes without a lease: the write is the storage's own, kept in memory for the
    user's next update if it fails."""

    def __init__(self, key: StorageKey, update_id: int | None, unsaved: Unsaved) -> None:
        self._key = key
        self._update_id = update_id
        self._unsaved = unsaved

    async def finish(self, change: Change, resolve: Resolve, *, record: bool) -> bool:
        if not change:
            return False
        state: str | None = None
        data: dict[str, Any] | None = None
        try:
            with outside_budget():
                state, data = await resolve(change)
                await self._write(state, data, self._update_id if record else None)
        except StorageUnavailable as error:
            if not record and data is not None:  # resolved: with the step owed, if any
                change = Change(state=state, data=data)
            self._unsaved.keep(self._key, change)
            log.warning("conversation change kept in memory until it can be written (%s)", error)
            return False
        except RequestAlreadyHandled:
            self._unsaved.forget(self._key)
            log.info("update %s was handled before; its changes were not written", self._update_id)
            return True
        self._unsaved.forget(self._key)
        return False

    @abstractmethod
    async def _write(
        self, state: str | None, data: Mapping[str, Any] | None, handled: int | None
    ) -> None: ...


class InMemory(_WrittenAtTheEnd):
    def __init__(
        self, storage: BaseStorage, key: StorageKey, update_id: int | None, unsaved: Unsaved
    ) -> None:
        super().__init__(key, update_id, unsaved)
        self._storage = storage

    async def read(self) -> Stored:
        return await self._storage.get_state(self._key), await self._storage.get_data(self._key)

    async def _write(
        self, state: str | None, data: Mapping[str, Any] | None, handled: int | None
    ) -> None:
        await self._storage.set_state(self._key, state)
        if data is not None:
            await self._storage.set_data(self._key, data)


class InOneProcess(_WrittenAtTheEnd):
    def __init__(
        self,
        store: ConversationStore,
        answered: AnsweredSteps,
        key: StorageKey,
        update_id: int | None,
        unsaved: Unsaved,
    ) -> None:
        super().__init__(key, update_id, unsaved)
        self._store = store
        self._answered = answered
        self._remembered = False

    async def read(self) -> Stored:
        snapshot = await self._store.read(self._key)
        self._remembered = snapshot.remembered
        if self._update_id in snapshot.handled:
            raise RequestAlreadyHandled(self._update_id or 0)
        step = await self._unwritten_answer(snapshot)
        if step is None:
            return snapshot.state, snapshot.data
        ended = ended_by(step, snapshot.state, snapshot.data)
        await self._store.write(self._key, None, ended, None)
        log.warning(
            "update %s: update %d answered %s and never wrote it; the conversation is ended",
            self._update_id,
            step,
            snapshot.state,
        )
        return None, ended

    async def _unwritten_answer(self, snapshot: ConversationSnapshot) -> int | None:
        """The update whose effect answered the question `snapshot` still asks, if the
        process that handled it died before writing so. (This process's own failed writes
        are in memory: `Unsaved`, `OwedStep`.) Asked of the profile only for a question
        another process left; such an update comes after every one the conversation
        recorded, since none was written after it."""
        if snapshot.written_here or snapshot.state is None:
            return None
        step = await self._answered.answered_by(self._key.user_id)
        _, owed = split_owed(snapshot.data)
        if step is None or step == self._update_id or (owed and owed.update_id == step):
            return None
        return None if any(handled >= step for handled in snapshot.handled) else step

    async def _write(
        self, state: str | None, data: Mapping[str, Any] | None, handled: int | None
    ) -> None:
        await self._store.write(self._key, state, data, handled, after_remembered=self._remembered)


class UnderLease(ConversationAccess):
    def __init__(self, held: HeldConversation, update_id: int, moved_on: Stored | None) -> None:
        """`moved_on`: the conversation as it is after a step whose holder never wrote it
        (already staged for the release), read instead of the snapshot."""
        self._held = held
        self._update_id = update_id
        self._moved_on = moved_on

    async def read(self) -> Stored:
        if self._moved_on is not None:
            return self._moved_on
        return self._held.snapshot.state, self._held.snapshot.data

    async def finish(self, change: Change, resolve: Resolve, *, record: bool) -> bool:
        """Handed to the lease, whose release is the write; every update is recorded."""
        if change:
            self._held.stage(*await resolve(change))
        if record:
            self._held.mark_handled(self._update_id)
        return False


class WithoutLease(ConversationAccess):
    async def read(self) -> Stored:
        raise StorageUnavailable("the conversation's lease could not be taken")

    async def finish(self, change: Change, resolve: Resolve, *, record: bool) -> bool:
        """Nothing to write: every change reads first, and reading failed."""
        return False


OpenAccess = Callable[[StorageKey, int | None], ConversationAccess]


def access_without_lease(
    storage: BaseStorage, unsaved: Unsaved, answered: AnsweredSteps
) -> OpenAccess:
    """The mode of a storage, told apart once, when the dispatcher is built: ours keeps the
    record of handled updates, aiogram's do not."""
    if isinstance(storage, ConversationStore):
        store = storage
        return lambda key, update_id: InOneProcess(store, answered, key, update_id, unsaved)
    return lambda key, update_id: InMemory(storage, key, update_id, unsaved)
