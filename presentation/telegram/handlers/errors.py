"""Use-case errors turned into replies, in one place, so handlers deal only with success.

Replies are in the user's language: settled here when the step has not settled it (an
outage or a bug leaves the provisional one, which needs no storage). Handlers change FSM
state only after their use case succeeds, so when one of these errors
arrives the conversation is exactly where it was: an invalid name keeps the question open,
and the keyboard and buttons the user had are left as they were.
"""

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent

from application.errors import ProfileChangedMeanwhile, StorageUnavailable, UserNotRegistered
from domain.user_name import InvalidUserName
from presentation.telegram import texts
from presentation.telegram.languages import ReplyLanguage

log = logging.getLogger(__name__)


async def invalid_name(
    event: ErrorEvent,
    state: FSMContext | None = None,
    reply_language: ReplyLanguage | None = None,
) -> None:
    assert isinstance(event.exception, InvalidUserName)
    if reply_language is not None:
        await reply_language.settle(state)
    await _reply(event, texts.invalid_name(event.exception.problem))


async def not_registered(
    event: ErrorEvent,
    state: FSMContext | None = None,
    reply_language: ReplyLanguage | None = None,
) -> None:
    try:
        current = None if state is None else await state.get_state()
    except StorageUnavailable:
        current = None  # the answer stands without the reminder
    if reply_language is not None:
        await reply_language.settle(state, profile=None)
    await _reply(event, texts.with_reminder(texts.not_registered(), current))


async def storage_unavailable(event: ErrorEvent) -> None:
    """MongoDB failed or timed out: the action did not happen and the FSM state is unchanged."""
    cause = event.exception.__cause__
    log.warning(
        "update %d: storage unavailable (%s)",
        event.update.update_id,
        type(cause).__name__ if cause else event.exception,
    )
    await _reply(event, texts.storage_unavailable())


async def profile_changed_meanwhile(event: ErrorEvent) -> None:
    """Not an outage: another device created and deleted the profile while we worked."""
    log.warning("update %d: %s", event.update.update_id, event.exception)
    await _reply(event, texts.profile_changed_meanwhile())


async def unexpected_error(event: ErrorEvent) -> None:
    log.error("update %d failed", event.update.update_id, exc_info=event.exception)
    await _reply(event, texts.unexpected_error())


async def _reply(event: ErrorEvent, text: str) -> None:
    """To the chat the update came from. A pressed button has had its answer already (by
    `CallbackAnswerMiddleware`, however the handler ended), so this is a message too, and
    the buttons stay, to be pressed again."""
    update = event.update
    if update.message is not None:
        await update.message.answer(text)
    elif update.callback_query is not None and update.callback_query.message is not None:
        await update.callback_query.message.answer(text)


def router() -> Router:
    router = Router(name="errors")
    router.errors.register(invalid_name, ExceptionTypeFilter(InvalidUserName))
    router.errors.register(not_registered, ExceptionTypeFilter(UserNotRegistered))
    router.errors.register(storage_unavailable, ExceptionTypeFilter(StorageUnavailable))
    router.errors.register(profile_changed_meanwhile, ExceptionTypeFilter(ProfileChangedMeanwhile))
    router.errors.register(unexpected_error)
    return router
