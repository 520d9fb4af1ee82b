"""What the user hears when a handler fails: an apology, never silence or a crash."""

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from application.errors import StorageUnavailable
from presentation import texts

log = logging.getLogger(__name__)


async def storage_unavailable(event: ErrorEvent) -> None:
    """MongoDB failed or timed out: the action did not happen and the FSM state is unchanged."""
    cause = event.exception.__cause__
    log.warning(
        "update %d: storage unavailable (%s)",
        event.update.update_id,
        type(cause).__name__ if cause else event.exception,
    )
    await _apologise(event, texts.STORAGE_UNAVAILABLE)


async def unexpected_error(event: ErrorEvent) -> None:
    log.error("update %d failed", event.update.update_id, exc_info=event.exception)
    await _apologise(event, texts.UNEXPECTED_ERROR)


async def _apologise(event: ErrorEvent, text: str) -> None:
    message = event.update.message
    if message is not None:
        await message.answer(text)


def router() -> Router:
    router = Router(name="errors")
    router.errors.register(storage_unavailable, ExceptionTypeFilter(StorageUnavailable))
    router.errors.register(unexpected_error)
    return router
