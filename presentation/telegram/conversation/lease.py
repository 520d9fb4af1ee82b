"""Several processes, one conversation: each update holds its user's conversation lease
from before its duplicate check to after its last reply, so one user's updates never run at
once anywhere, and whatever a process does for an update is decided by what the previous
update, wherever it ran, left behind.

Holding the lease is also where three things that must be shared between processes live,
at no extra round trip: the record of handled updates (a delivered-again update is dropped,
in any process, for as long as the record is kept), the flood-control bucket (N processes do
not give a flooder N budgets), and the conversation itself (see `access.UnderLease`).

A step whose holder never let the lease go (killed, lease lost, release failed) may have had
its effect while the conversation still reads as before it. The next holder finds its update
among the lease's `unfinished` and asks the profile which update last answered one of the
bot's questions (`AnsweredSteps`, one round trip, only then): if it was that one, the
question is answered, and an answered question's conversation is over (every step with an
effect ends it). The holder reads it ended, and writes it so, with the step owed to its
own update (`changes.OwedStep`): delivered again, that update answers as it should have.

A command that reads nothing (`/help`, declared so in `commands`) takes no lease: it
answers at once, during an outage too. If MongoDB does not answer, any other update goes on
without a lease (`access.WithoutLease`), so that anything needing the conversation fails as
a storage outage would, and a step that needs storage gets the usual apology.
"""

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import TelegramObject, Update

from application.errors import StorageUnavailable
from infrastructure.conversation.errors import ConversationBusy, ConversationLost
from presentation.telegram import texts
from presentation.telegram.commands import reads_nothing
from presentation.telegram.conversation.access import (
    ACCESS_KEY,
    Stored,
    UnderLease,
    WithoutLease,
)
from presentation.telegram.conversation.changes import ended_by
from presentation.telegram.conversation.early_profile import (
    EARLY_PROFILE_KEY,
    EarlyProfile,
    ReadProfile,
    worth_reading_early,
)
from presentation.telegram.conversation.ports import (
    AnsweredSteps,
    ConversationLeases,
    HeldConversation,
)
from presentation.telegram.middlewares.callback_answers import answer_quietly
from presentation.telegram.middlewares.flood_control import take_token, tell_throttled
from presentation.telegram.middlewares.update_log import set_outcome

log = logging.getLogger(__name__)

KeyOf = Callable[[Bot, dict[str, Any]], StorageKey | None]
Next = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class SharedFloodLimit:
    """Flood control on a bucket kept in the conversation's document, timed by the
    storage's clock, so that it holds across processes (the lease serialises its updates)."""

    def __init__(self, burst: int, per_minute: float) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60

    def admit(self, held: HeldConversation) -> tuple[bool, bool]:
        """Take a token for this update; returns (admitted, warn): warn once per flood."""
        stored = held.flood or {}
        tokens = float(stored.get("tokens", self._burst))
        at_ms = int(stored.get("at_ms", held.server_now_ms))
        warned = bool(stored.get("warned", False))
        elapsed = (held.server_now_ms - at_ms) / 1000
        admitted, tokens = take_token(tokens, elapsed, self._burst, self._rate)
        warn = not admitted and not warned
        held.stage_flood({"tokens": tokens, "at_ms": held.server_now_ms, "warned": not admitted})
        return admitted, warn


class ConversationLease(BaseMiddleware):
    """Outer update middleware, inside this process's own per-user lock (which keeps the
    order among this process's updates without asking MongoDB)."""

    def __init__(
        self,
        leases: ConversationLeases,
        key_of: KeyOf,
        flood: SharedFloodLimit,
        answered: AnsweredSteps,
        read_profile: ReadProfile,
    ) -> None:
        self._leases = leases
        self._read_profile = read_profile
        self._key_of = key_of
        self._flood = flood
        self._answered = answered

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot: Bot = data["bot"]
        key = self._key_of(bot, data)
        data[EARLY_PROFILE_KEY] = None  # each try of an update reads afresh
        if key is None or not isinstance(event, Update):
            return await handler(event, data)
        if event.message is not None and reads_nothing(event.message.text):
            # /help: nothing to serialise, record or share, so no lease to wait for. Were
            # anything to read the conversation all the same, it would fail as in an outage.
            data[ACCESS_KEY] = WithoutLease()
            return await handler(event, data)
        try:
            return await self._held(key, handler, event, data)
        except (ConversationBusy, ConversationLost):
            if event.callback_query is not None:  # its spinner stops; a redelivery may act
                await answer_quietly(bot, event.callback_query.id, texts.try_again())
            raise

    async def _held(
        self, key: StorageKey, handler: Next, event: Update, data: dict[str, Any]
    ) -> Any:
        early = (
            EarlyProfile(self._read_profile, key.user_id) if worth_reading_early(event) else None
        )
        async with AsyncExitStack() as holding:
            try:
                held = await holding.enter_async_context(self._leases.hold(key, event.update_id))
                if early is not None and early.usable_under(held):
                    data[EARLY_PROFILE_KEY] = early
            except StorageUnavailable as error:
                log.warning(
                    "update %d goes on without its conversation (%s)", event.update_id, error
                )
                data[ACCESS_KEY] = WithoutLease()
                held = None
            if held is not None:
                moved_on = await self._moved_on(key, held, event.update_id)
                return await self._handle(held, moved_on, handler, event, data)
        return await handler(event, data)

    async def _moved_on(
        self, key: StorageKey, held: HeldConversation, update_id: int
    ) -> Stored | None:
        """The conversation after an unfinished holder's step, if that step's effect
        answered the question the stored conversation still asks; staged for the release.
        Once looked, the release forgets the unfinished holders, whatever this update
        does; if looking fails, they are kept for the next holder."""
        snapshot = held.snapshot
        unfinished = set(held.unfinished) - set(snapshot.handled) - {update_id}
        if not unfinished or snapshot.state is None:
            held.settle_unfinished()
            return None
        answered_by = await self._answered.answered_by(key.user_id)
        held.settle_unfinished()
        if answered_by not in unfinished:
            return None
        ended = ended_by(answered_by, snapshot.state, snapshot.data)
        held.stage(None, ended)
        log.warning(
            "update %d: update %d answered %s and never wrote it; the conversation is ended",
            update_id,
            answered_by,
            snapshot.state,
        )
        return None, ended

    async def _handle(
        self,
        held: HeldConversation,
        moved_on: Stored | None,
        handler: Next,
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        if event.update_id in held.snapshot.handled:
            set_outcome(data, "duplicate")
            return UNHANDLED
        admitted, warn = self._flood.admit(held)
        if not admitted:  # not recorded: it had no effect, and the record keeps 100 ids
            set_outcome(data, "throttled")
            await tell_throttled(data["bot"], event, warn=warn)
            return None
        data[ACCESS_KEY] = UnderLease(held, event.update_id, moved_on)
        return await handler(event, data)
