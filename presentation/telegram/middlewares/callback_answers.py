"""Every pressed button is answered exactly once, so the user's spinner stops, and an answer
that fails never changes what the press did.

It works as aiogram's `CallbackAnswerMiddleware` does (the handler sets the text on its
`callback_answer`; the answer goes after the handler, however it ended), with two
differences that matter here: a failed answer (Telegram refuses a second answer, or one
after its time limit) is logged, where aiogram's would replace the handler's outcome, turning
a done step into an apology and leaving the update unrecorded; and a press handled before,
delivered again, is not answered a second time. Presses that never
reach a handler (not served, throttled, no lease) are answered where they stop, with
`answer_quietly`.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer

from infrastructure.conversation.errors import RequestAlreadyHandled

log = logging.getLogger(__name__)


async def answer_quietly(bot: Bot, query_id: str, text: str | None = None) -> None:
    """Answer a press; a refusal (already answered, too late) or a network failure is
    logged, never raised: the answer only stops a spinner."""
    try:
        await bot.answer_callback_query(query_id, text=text)
    except TelegramAPIError as error:
        log.info("press %s not answered (%s)", query_id, error)


class AnswerEveryPress(BaseMiddleware):
    """Inner callback-query middleware: gives the handler a `callback_answer` (aiogram's
    `CallbackAnswer`, to set the text) and answers with it after the handler, however it
    ended, unless the press was handled before."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        answer = data["callback_answer"] = CallbackAnswer(answered=False)
        try:
            return await handler(event, data)
        except RequestAlreadyHandled:
            answer.disable()  # it was answered when it was handled
            raise
        finally:
            if not answer.disabled:
                await answer_quietly(data["bot"], event.id, answer.text)
