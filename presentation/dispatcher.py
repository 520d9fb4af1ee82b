"""The dispatcher every front end shares: polling, the terminal chat, the tests and the bench."""

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import MiddlewareType
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import TelegramObject

from infrastructure.settings import Settings
from presentation.handlers import build_router
from presentation.middlewares.conversation import LazyFSMMiddleware
from presentation.middlewares.duplicate_updates import DuplicateUpdates
from presentation.middlewares.flood_control import FloodControl
from presentation.middlewares.in_flight import InFlightUpdates
from presentation.middlewares.update_log import HandlerName, UpdateLog


def build_dispatcher(
    storage: BaseStorage, settings: Settings, in_flight: InFlightUpdates | None = None
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
    ours: list[MiddlewareType[TelegramObject]] = [in_flight] if in_flight is not None else []
    ours += [UpdateLog(), *builtin, DuplicateUpdates()]
    ours += [FloodControl(burst=settings.flood_burst, per_minute=settings.flood_per_minute)]
    ours.append(dispatcher.fsm)
    for middleware in ours:
        chain.register(middleware)
    handler_name = HandlerName()
    for name, observer in dispatcher.observers.items():
        if name != "update":
            observer.middleware.register(handler_name)
    dispatcher.include_router(build_router())
    return dispatcher
