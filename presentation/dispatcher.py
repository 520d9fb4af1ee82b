"""The dispatcher every front end shares: polling, the terminal chat and the tests."""

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from presentation.handlers import build_router


def build_dispatcher(storage: BaseStorage) -> Dispatcher:
    """Routers over `storage`. One user's updates are handled one at a time, in order, so
    two quick messages can never race on the same conversation."""
    dispatcher = Dispatcher(storage=storage, events_isolation=SimpleEventIsolation())
    dispatcher.include_router(build_router())
    return dispatcher
