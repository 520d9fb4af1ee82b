"""Only updates the bot serves go on: a person's own messages in a private chat, and the
buttons they press under the bot's messages there.

Everything else (group and channel posts, messages without a sender, kinds of update the bot
has no handler for) stops here, before it can spend a flood-control token, wait for a
user's lock, cost a database round trip, or be answered anywhere. (A button pressed where
the bot does not serve, which its own messages never put there, is answered, empty: that
only stops the presser's spinner.)
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.enums import ChatType
from aiogram.types import TelegramObject, Update

from presentation.telegram.middlewares.callback_answers import answer_quietly
from presentation.telegram.middlewares.update_log import set_outcome


class ServedUpdates(BaseMiddleware):
    """Outer update middleware; needs aiogram's user context to have run before it."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and is_served(event, data.get(EVENT_CONTEXT_KEY)):
            return await handler(event, data)
        set_outcome(data, "ignored")
        if isinstance(event, Update) and event.callback_query is not None:
            await answer_quietly(data["bot"], event.callback_query.id)  # stops its spinner
        return UNHANDLED


def is_served(update: Update, context: object) -> bool:
    """A message a person sent the bot directly, or a button they pressed under one of the
    bot's messages to them (aiogram's context gives a pressed button the message's chat)."""
    return (
        (update.message is not None or update.callback_query is not None)
        and isinstance(context, EventContext)
        and context.user is not None
        and context.chat is not None
        and context.chat.type == ChatType.PRIVATE
    )
