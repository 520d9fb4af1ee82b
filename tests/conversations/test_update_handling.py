"""What happens around every update: order per user (error replies included), parallelism
across users, duplicates, updates of kinds the bot does not handle, locks that do not pile
up, and the one log line each update leaves."""

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from dependency_injector import providers

from application.errors import StorageUnavailable, UserNotRegistered
from application.show_profile import ShowProfileRequest
from presentation.entrypoints.terminal.chat import local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession
from presentation.telegram import texts
from tests.conversations.conftest import ADA, BotUnderTest

BOB = 8


async def test_two_names_sent_at_once_register_the_first_only(bot: BotUnderTest) -> None:
    await bot.send("/start")
    first, second = local_update(101, ADA, "Ada"), local_update(102, ADA, "Bob")

    await asyncio.gather(bot.feed(first), bot.feed(second))

    assert [u["name"] for u in bot.stored_users()] == ["Ada"]
    replies = [r.text for r in bot.requests[-2:] if isinstance(r, SendMessage)]
    assert replies == [texts.registered("Ada"), texts.unknown_input("Bob")]


class GatedProfiles:
    """Ada's profile lookup waits for the gate; everyone else's answers at once."""

    def __init__(self) -> None:
        self.entered, self.gate = asyncio.Event(), asyncio.Event()

    async def execute(self, request: ShowProfileRequest) -> None:
        if request.user_id == ADA:
            self.entered.set()
            await self.gate.wait()
        raise UserNotRegistered(request.user_id)


async def test_one_users_slow_update_does_not_hold_up_another_user(bot: BotUnderTest) -> None:
    profiles = GatedProfiles()
    with bot.container.show_profile.override(providers.Object(profiles)):
        ada = asyncio.create_task(bot.send("/me"))
        async with asyncio.timeout(30):
            await profiles.entered.wait()

        await bot.send("/me", user_id=BOB)
        assert not ada.done()

        profiles.gate.set()
        await ada

    answered = [(r.chat_id, r.text) for r in bot.requests if isinstance(r, SendMessage)]
    assert answered == [(BOB, texts.not_registered()), (ADA, texts.not_registered())]


async def test_the_same_update_delivered_twice_has_the_effect_of_one(bot: BotUnderTest) -> None:
    await bot.send("/start")
    name = local_update(500, ADA, "Ada")

    assert await bot.feed(name) == [texts.registered("Ada")]
    assert await bot.feed(name) == []

    assert len(bot.stored_users()) == 1
    assert await bot.send("/start") == [texts.already_registered("Ada")]


def _message(**fields: object) -> Message:
    defaults: dict[str, object] = {
        "message_id": 1,
        "date": datetime.now(UTC),
        "chat": Chat(id=ADA, type=ChatType.PRIVATE),
        "from_user": User(id=ADA, is_bot=False, first_name="Ada"),
        "text": "Ada",
    }
    return Message.model_validate(defaults | fields)


ODD_UPDATES = {
    "edited message": Update(update_id=901, edited_message=_message(edit_date=1)),
    "channel post": Update(
        update_id=902,
        channel_post=_message(chat=Chat(id=-1001, type=ChatType.CHANNEL), from_user=None),
    ),
    "group message without sender": Update(
        update_id=903,
        message=_message(
            chat=Chat(id=-1002, type=ChatType.SUPERGROUP),
            from_user=None,
            sender_chat=Chat(id=-1002, type=ChatType.SUPERGROUP),
        ),
    ),
    "private message without sender": Update(update_id=904, message=_message(from_user=None)),
    "unknown update type": Update.model_validate(
        {"update_id": 906, "a_kind_from_the_future": {"x": 1}}
    ),
}


UNSERVED_PRESSES = {
    "under an inline-mode message": Update(
        update_id=905,
        callback_query=CallbackQuery(
            id="1",
            from_user=User(id=ADA, is_bot=False, first_name="Ada"),
            chat_instance="c",
            inline_message_id="i",
            data="profile:rename",
        ),
    ),
    "under a message in a group": Update(
        update_id=907,
        callback_query=CallbackQuery(
            id="2",
            from_user=User(id=ADA, is_bot=False, first_name="Ada"),
            chat_instance="c",
            message=_message(chat=Chat(id=-1003, type=ChatType.SUPERGROUP)),
            data="profile:rename",
        ),
    ),
}
"""Buttons the bot's own messages never put there, pressed all the same."""


@pytest.mark.parametrize("update", UNSERVED_PRESSES.values(), ids=UNSERVED_PRESSES.keys())
async def test_a_press_the_bot_does_not_serve_is_only_answered(
    bot: BotUnderTest, update: Update
) -> None:
    await bot.send("/start")
    requests_before = len(bot.requests)

    await bot.feed(update)

    [answer] = bot.requests[requests_before:]
    assert isinstance(answer, AnswerCallbackQuery)
    assert update.callback_query is not None
    assert (answer.callback_query_id, answer.text) == (update.callback_query.id, None)
    assert bot.stored_users() == []
    assert await bot.send("Ada") == [texts.registered("Ada")]


@pytest.mark.parametrize("update", ODD_UPDATES.values(), ids=ODD_UPDATES.keys())
async def test_updates_the_bot_does_not_handle_are_ignored_without_any_reply(
    bot: BotUnderTest, update: Update
) -> None:
    await bot.send("/start")
    requests_before = len(bot.requests)

    await bot.feed(update)

    assert len(bot.requests) == requests_before  # no reply anywhere, not even elsewhere
    assert bot.stored_users() == []
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_each_update_leaves_one_log_line_without_the_text(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = "Ada Lovelace-Secretname"

    await bot.send("/start")
    await bot.send("/me" + secret)
    await bot.send(secret)
    await bot.feed(local_update(1000, ADA, "again"))
    await bot.feed(local_update(1000, ADA, "again"))

    lines = [r.getMessage() for r in caplog.records if r.name == "profilebot.updates"]
    assert len(lines) == 5
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "profilebot.updates")
    assert lines[0].startswith(f"update=1 type=message user={ADA} handler=start outcome=ok ")
    assert "handler=name_received outcome=error:InvalidUserName" in lines[1]
    assert "handler=name_received outcome=ok" in lines[2]
    assert "handler=unrecognised outcome=ok" in lines[3]
    assert "outcome=duplicate" in lines[4]
    assert all("duration_ms=" in line for line in lines)
    assert secret not in caplog.text


class SlowBotApi(LocalBotSession):
    """Every Bot API call takes a few milliseconds, as over a network, and is recorded as
    it starts and as it ends."""

    def __init__(self) -> None:
        super().__init__(lambda method: None)
        self.events: list[tuple[str, str]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        text = method.text if isinstance(method, SendMessage) else type(method).__name__
        self.events.append(("start", text))
        await asyncio.sleep(0.02)
        try:
            return await super().make_request(bot, method, timeout)
        finally:
            self.events.append(("end", text))


class FailingProfiles:
    """Ada's profile lookup waits for the gate, then fails as an outage would."""

    def __init__(self) -> None:
        self.entered, self.gate = asyncio.Event(), asyncio.Event()

    async def execute(self, request: ShowProfileRequest) -> None:
        self.entered.set()
        await self.gate.wait()
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")


async def test_an_apology_reaches_the_user_before_the_reply_to_their_next_message(
    bot: BotUnderTest,
) -> None:
    api, profiles = SlowBotApi(), FailingProfiles()
    bot.bot.session = api
    with bot.container.show_profile.override(providers.Object(profiles)):
        first = asyncio.create_task(bot.feed(local_update(801, ADA, "/me")))
        await profiles.entered.wait()
        second = asyncio.create_task(bot.feed(local_update(802, ADA, "/help")))
        await asyncio.sleep(0.01)  # /help is now waiting for Ada's turn
        profiles.gate.set()
        await asyncio.gather(first, second)

    assert api.events == [
        ("start", texts.storage_unavailable()),
        ("end", texts.storage_unavailable()),
        ("start", texts.help_text()),
        ("end", texts.help_text()),
    ]


async def test_a_thousand_users_leave_no_lock_behind(bot: BotUnderTest) -> None:
    updates = [local_update(10_000 + user, user, "/help") for user in range(1, 1001)]

    await asyncio.gather(*(bot.feed(update) for update in updates))

    assert len(bot.container.user_locks()) == 0
    assert len(bot.requests) == 1000
