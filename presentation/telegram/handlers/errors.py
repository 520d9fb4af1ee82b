"""Use-case errors turned into replies, in one place, so handlers deal only with success.

Replies are in the user's language: settled here when the step has not settled it (an
outage or a bug leaves the provisional one, which needs no storage). Handlers change FSM
state only after their use case succeeds, so when one of these errors
arrives the conversation is exactly where it was: an invalid name keeps the question open,
and the keyboard and buttons the user had are left as they were.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Final, ParamSpec

from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from application.errors import (
    ProfileChangedMeanwhile,
    StorageUnavailable,
    UserAlreadyRegistered,
    UserNotRegistered,
)
from domain.language import InvalidLanguage
from domain.user import InvalidUserId, TimestampNotUtc
from domain.user_name import InvalidUserName
from infrastructure.conversation.errors import (
    ConversationBusy,
    ConversationLost,
    RequestAlreadyHandled,
)
from presentation.telegram import states, texts
from presentation.telegram.handlers.arguments import You

log = logging.getLogger(__name__)
P = ParamSpec("P")


async def invalid_name(event: ErrorEvent, you: You | None = None) -> None:
    assert isinstance(event.exception, InvalidUserName)
    await _reply(event, await _say(you, texts.invalid_name, event.exception.problem))


async def not_registered(event: ErrorEvent, you: You | None = None) -> None:
    try:
        current = None if you is None else await you.state()
    except StorageUnavailable:
        current = None  # the answer stands without the reminder
    reply = await _say(you, texts.not_registered)
    await _reply(event, states.with_reminder(reply, current))


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


async def _say(you: You | None, text: Callable[P, str], *args: P.args, **kwargs: P.kwargs) -> str:
    """In the user's language, or the provisional one for an update without a user."""
    return text(*args, **kwargs) if you is None else await you.say(text, *args, **kwargs)


async def _reply(event: ErrorEvent, text: str) -> None:
    """To the chat the update came from. A pressed button has had its answer already (by
    `CallbackAnswerMiddleware`, however the handler ended), so this is a message too, and
    the buttons stay, to be pressed again. A refusal for good (the user blocked the bot)
    ends the update: delivered again, it would only be refused again."""
    update = event.update
    try:
        if update.message is not None:
            await update.message.answer(text)
        elif update.callback_query is not None and update.callback_query.message is not None:
            await update.callback_query.message.answer(text)
    except TelegramForbiddenError as error:  # blocked: no redelivery would get it through
        log.info("update %d: the Bot API refused the answer for good (%s)", update.update_id, error)


ANSWERS: Final[dict[type[Exception], Callable[..., Awaitable[None]]]] = {
    InvalidUserName: invalid_name,
    UserNotRegistered: not_registered,
    StorageUnavailable: storage_unavailable,
    ProfileChangedMeanwhile: profile_changed_meanwhile,
}
"""The answer to each domain and application error that reaches this router; a new error
joins here or in `NOT_ANSWERED_HERE` (a test walks them all)."""

NOT_ANSWERED_HERE: Final[dict[type[Exception], str]] = {
    UserAlreadyRegistered: "registration answers it, naming the profile that exists",
    InvalidLanguage: "the buttons offer only languages the bot speaks: a bug",
    InvalidUserId: "Telegram's user ids are positive: a bug",
    TimestampNotUtc: "the clock is UTC: a bug",
    RequestAlreadyHandled: "the conversation machinery drops the update before any handler",
    ConversationBusy: "the conversation machinery answers it before any handler",
    ConversationLost: "the conversation machinery redelivers the update",
}
"""Errors that reach no handler, or mean a bug: `unexpected_error` answers them, in words
that ask the user to try again."""


def router() -> Router:
    router = Router(name="errors")
    for error, answer in ANSWERS.items():
        router.errors.register(answer, ExceptionTypeFilter(error))
    router.errors.register(unexpected_error)
    return router
