"""A Bot API session answered in-process: the terminal chat prints through it, tests record."""

import itertools
import typing
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.enums import ChatType
from aiogram.methods import GetMe, GetWebhookInfo, SendDocument, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    Chat,
    Document,
    InlineKeyboardMarkup,
    Message,
    User,
    WebhookInfo,
)


class UnsupportedLocalMethod(NotImplementedError):
    """The bot called a Bot API method that has no local answer."""


class LocalBotSession(BaseSession):
    """Hands every request to `on_request` and answers it as Telegram would, without network.

    Supported: `sendMessage` (the sent message, with its inline buttons, also goes to
    `on_sent`), `sendDocument` of a file in memory (its content stays in the request),
    `getMe`, `getWebhookInfo` (nothing pending), and methods that may return `True`
    (`setMyCommands`, `answerCallbackQuery`, `editMessageReplyMarkup`, …), which do.
    """

    def __init__(
        self,
        on_request: Callable[[TelegramMethod[Any]], None],
        on_sent: Callable[[Message], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_request = on_request
        self._on_sent = on_sent
        self._message_ids = itertools.count(1)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        self._on_request(method)
        if isinstance(method, SendMessage | SendDocument):
            sent = self._sent_message(method)
            if self._on_sent is not None:
                self._on_sent(sent)
            return cast(TelegramType, sent)
        if isinstance(method, GetMe):
            return cast(TelegramType, User(id=bot.id, is_bot=True, first_name="profilebot"))
        if isinstance(method, GetWebhookInfo):
            info = WebhookInfo(url="", has_custom_certificate=False, pending_update_count=0)
            return cast(TelegramType, info)
        returning = method.__returning__
        if returning is bool or bool in typing.get_args(returning):
            return cast(TelegramType, True)
        raise UnsupportedLocalMethod(f"no local answer for {type(method).__name__}")

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - the base class fixes the signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise UnsupportedLocalMethod("no files in a local session")
        yield b""  # pragma: no cover - makes this an async generator, as the base requires

    async def close(self) -> None:
        """Nothing to close: no connection was ever opened."""

    def _sent_message(self, method: SendMessage | SendDocument) -> Message:
        message_id = next(self._message_ids)
        chat_id = method.chat_id if isinstance(method.chat_id, int) else 0
        if isinstance(method, SendMessage):
            content: dict[str, Any] = {"text": method.text}
        else:
            content = {"caption": method.caption, "document": _document(method, message_id)}
        return Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=Chat(id=chat_id, type=ChatType.PRIVATE),
            reply_markup=(
                method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None
            ),
            **content,
        )


def _document(method: SendDocument, message_id: int) -> Document:
    """The document as Telegram describes a file it has taken: a file of ours in memory."""
    sent = method.document
    if not isinstance(sent, BufferedInputFile):
        raise UnsupportedLocalMethod("a local session takes a document's content in memory only")
    return Document(
        file_id=f"local-{message_id}",
        file_unique_id=f"local-{message_id}",
        file_name=sent.filename,
        file_size=len(sent.data),
    )
