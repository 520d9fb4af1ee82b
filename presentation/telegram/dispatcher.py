"""The dispatcher every front end shares: polling, the terminal chat, the tests and the bench."""

from collections.abc import Sequence

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import MiddlewareType
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import TelegramObject

from presentation.telegram.handlers import build_router
from presentation.telegram.middlewares.duplicate_updates import DuplicateUpdates
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.lazy_fsm import LazyFSMMiddleware
from presentation.telegram.middlewares.served_updates import ServedUpdates
from presentation.telegram.middlewares.time_budget import StorageTimeBudget
from presentation.telegram.middlewares.update_log import HandlerName, UpdateLog, UpdateObserver
from presentation.telegram.middlewares.user_order import UserOrder


def build_dispatcher(
    storage: BaseStorage,
    *,
    isolation: BaseEventIsolation,
    flood_control: FloodControl,
    in_flight: InFlightUpdates,
    storage_budget_seconds: float,
    conversation_ttl_seconds: float = 24 * 60 * 60,
    update_observers: Sequence[UpdateObserver] = (),
) -> Dispatcher:
    """Routers over `storage`, with the update middlewares in this order, outermost first:

    in-flight count (so shutdown waits for error replies too) → one log line (and a record
    for each of `update_observers`) → aiogram's
    user context → only served updates go on → duplicate drop → flood control → the user's
    lock (`isolation`) → one storage time budget → aiogram's error routing → lazy FSM.

    Everything that can reply to a user, the errors router included, runs inside that
    user's lock, so one user's replies come in the order of their messages; different users
    run concurrently. Updates the bot does not serve leave before anything costs a token, a
    lock or a round trip.
    """
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.fsm = LazyFSMMiddleware(storage, unsaved_max_age_seconds=conversation_ttl_seconds)
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
        ServedUpdates(),
        DuplicateUpdates(),
        flood_control,
        UserOrder(isolation),
        StorageTimeBudget(storage_budget_seconds),
        errors,
        dispatcher.fsm,
    ]
    for middleware in ours:
        chain.register(middleware)
    handler_name = HandlerName()
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware.register(handler_name)
    dispatcher.include_router(build_router())
    return dispatcher
