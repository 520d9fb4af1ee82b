"""The dispatcher every front end shares: polling, the terminal chat, the tests and the bench."""

from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import MiddlewareType
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.types import TelegramObject

from application.show_profile import ShowProfile
from presentation.telegram.conversation.duplicate_updates import DuplicateUpdates
from presentation.telegram.conversation.early_profile import ReadProfile, profile_reader
from presentation.telegram.conversation.lazy_fsm import (
    LazyFSMMiddleware,
    refuse_aiogram_state_filters,
)
from presentation.telegram.conversation.lease import ConversationLease, KeyOf, SharedFloodLimit
from presentation.telegram.conversation.ports import AnsweredSteps, ConversationLeases
from presentation.telegram.handlers import build_router
from presentation.telegram.handlers.arguments import HandYou
from presentation.telegram.languages import LastSettled, ResumeLanguage, SpeakTheUsersLanguage
from presentation.telegram.middlewares.callback_answers import AnswerEveryPress
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.retry_failed import RetryFailedUpdates
from presentation.telegram.middlewares.served_updates import ServedUpdates
from presentation.telegram.middlewares.storage_admission import StorageAdmission
from presentation.telegram.middlewares.time_budget import StorageTimeBudget
from presentation.telegram.middlewares.update_log import HandlerName, UpdateLog, UpdateObserver
from presentation.telegram.middlewares.user_order import UserOrder


def build_dispatcher(
    storage: BaseStorage,
    *,
    show_profile: ShowProfile,
    answered: AnsweredSteps,
    isolation: BaseEventIsolation,
    flood_control: FloodControl,
    in_flight: InFlightUpdates,
    storage_budget_seconds: float,
    storage_admission: StorageAdmission | None = None,
    retry_failed: RetryFailedUpdates | None = None,
    conversation_ttl_seconds: float = 24 * 60 * 60,
    update_observers: Sequence[UpdateObserver] = (),
    leases: ConversationLeases | None = None,
    read_profile: ReadProfile | None = None,
    flood_burst: int = 10,
    flood_per_minute: float = 30.0,
    recent_users_kept: int = 10_000,
) -> Dispatcher:
    """Routers over `storage`, with the update middlewares in this order, outermost first:

    in-flight count (so shutdown waits for error replies too) → one log line (and a record
    for each of `update_observers`) → aiogram's user context → the user's language
    (`show_profile` reads a choice kept with the profile) → only served updates go on →
    duplicate drop → flood control → the user's lock (`isolation`) → a failed update
    handled again (`retry_failed`: polling, where nobody else delivers it again) → at most
    as many updates past this point as `storage_admission` lets in (a burst waits there, not
    for threads and connections) → the language as it is once the user's earlier updates are done →
    one storage time budget → aiogram's error routing → lazy FSM → the handlers' `you` (one
    per try of the update, shared by its handler and its errors router).

    Inside, every pressed button's handler is wrapped by `AnswerEveryPress`, which answers
    the press however the handler ended; a press stopped before (not served, throttled, its
    lease not had in time) is answered where it stops.

    Everything that can reply to a user, the errors router included, runs inside that
    user's lock, so one user's replies come in the order of their messages; different users
    run concurrently. Updates the bot does not serve leave before anything costs a token, a
    lock or a round trip.

    With `leases` (several processes serving the same users), the user's conversation lease
    follows this process's own lock: the duplicate check and a second, shared flood limit
    (`flood_burst`, `flood_per_minute`) move into it, and the in-memory duplicate drop goes,
    since it would answer a copy of an update that another copy is still handling.

    `read_profile` reads a command's profile while its lease is taken (by default with
    `show_profile`).

    `answered` is where a step's effect records its update (the user repository): read
    only when a conversation may have been left as it was before such a step (see
    `docs/conversations.md`).
    """
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.fsm = LazyFSMMiddleware(
        storage,
        answered,
        unsaved_max_age_seconds=conversation_ttl_seconds,
        unsaved_max_entries=recent_users_kept,
    )
    chain = dispatcher.update.outer_middleware
    builtin = list(chain)
    for middleware in builtin:
        chain.unregister(middleware)
    [errors] = [m for m in builtin if isinstance(m, ErrorsMiddleware)]
    [user_context] = [m for m in builtin if isinstance(m, UserContextMiddleware)]
    ours: list[MiddlewareType[TelegramObject]] = [
        in_flight,
        UpdateLog(update_observers),
        user_context,
        SpeakTheUsersLanguage(show_profile, LastSettled(recent_users_kept)),
        ServedUpdates(),
        *([DuplicateUpdates(recent_users_kept)] if leases is None else []),
        flood_control,
        UserOrder(isolation),
        *([] if retry_failed is None else [retry_failed]),
        storage_admission or StorageAdmission(at_once=64),
        *(
            []
            if leases is None
            else [
                ConversationLease(
                    leases,
                    _conversation_key(dispatcher.fsm),
                    SharedFloodLimit(flood_burst, flood_per_minute),
                    answered,
                    read_profile or profile_reader(lambda: show_profile),
                )
            ]
        ),
        ResumeLanguage(),
        StorageTimeBudget(storage_budget_seconds),
        errors,
        dispatcher.fsm,
        HandYou(),
    ]
    for middleware in ours:
        chain.register(middleware)
    handler_name = HandlerName()
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware.register(handler_name)
    dispatcher.callback_query.middleware.register(AnswerEveryPress())
    dispatcher.include_router(build_router())
    refuse_aiogram_state_filters(dispatcher)
    return dispatcher


def _conversation_key(fsm: LazyFSMMiddleware) -> KeyOf:
    """The key the FSM gives an update's conversation, so the lease is on that document."""

    def key_of(bot: Bot, data: dict[str, Any]) -> StorageKey | None:
        context = fsm.resolve_event_context(bot, data)
        return None if context is None else context.key

    return key_of
