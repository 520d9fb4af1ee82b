"""The dispatcher every front end shares: polling, the terminal chat, the tests and the bench."""

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import MiddlewareType
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import TelegramObject

from presentation.telegram.handlers import build_router
from presentation.telegram.middlewares.duplicate_updates import DuplicateUpdates
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.lazy_fsm import LazyFSMMiddleware
from presentation.telegram.middlewares.update_log import HandlerName, UpdateLog


def build_dispatcher(
    storage: BaseStorage, flood_control: FloodControl, in_flight: InFlightUpdates
) -> Dispatcher:
    """Routers over `storage`, with the update middlewares in this order, outermost first:

    in-flight count (so shutdown waits for error replies too) → one log line → aiogram's
    error routing and user context → duplicate drop → flood control → FSM. One user's
    updates are handled one at a time, in order, so two quick messages can never race on
    the same conversation; different users run concurrently.
    """
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.fsm = LazyFSMMiddleware(storage=storage, events_isolation=SimpleEventIsolation())
    chain = dispatcher.update.outer_middleware
    builtin = list(chain)  # aiogram's errors and user-context middlewares
    for middleware in builtin:
        chain.unregister(middleware)
    ours: list[MiddlewareType[TelegramObject]] = [in_flight, UpdateLog(), *builtin]
    ours += [DuplicateUpdates(), flood_control, dispatcher.fsm]
    for middleware in ours:
        chain.register(middleware)
    handler_name = HandlerName()
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware.register(handler_name)
    dispatcher.include_router(build_router())
    return dispatcher
