"""What happens around every update: order per user, parallelism across users, duplicates,
updates of kinds the bot does not handle, and the one log line each update leaves."""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import pytest
from aiogram.enums import ChatType
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from dependency_injector import providers

from application.errors import UserNotRegistered
from application.show_profile import ShowProfileRequest
from presentation.entrypoints.terminal_chat import local_update
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
        self.gate = asyncio.Event()

    async def execute(self, request: ShowProfileRequest) -> None:
        if request.user_id == ADA:
            await self.gate.wait()
        raise UserNotRegistered(request.user_id)


async def test_one_users_slow_update_does_not_hold_up_another_user(bot: BotUnderTest) -> None:
    profiles = GatedProfiles()
    with bot.container.show_profile.override(providers.Object(profiles)):
        ada = asyncio.create_task(bot.send("/me"))
        await asyncio.sleep(0.05)

        await bot.send("/me", user_id=BOB)
        assert not ada.done()

        profiles.gate.set()
        await ada

    answered = [(r.chat_id, r.text) for r in bot.requests if isinstance(r, SendMessage)]
    assert answered == [(BOB, texts.NOT_REGISTERED), (ADA, texts.NOT_REGISTERED)]


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
    "callback query": Update(
        update_id=905,
        callback_query=CallbackQuery(
            id="1",
            from_user=User(id=ADA, is_bot=False, first_name="Ada"),
            chat_instance="c",
            data="anything",
        ),
    ),
    "unknown update type": Update.model_validate(
        {"update_id": 906, "a_kind_from_the_future": {"x": 1}}
    ),
}


@pytest.mark.parametrize("update", ODD_UPDATES.values(), ids=ODD_UPDATES.keys())
async def test_updates_the_bot_does_not_handle_are_ignored(
    bot: BotUnderTest, update: Update
) -> None:
    await bot.send("/start")

    unknown_type = "from_the_future" in str(update)
    with pytest.warns(RuntimeWarning) if unknown_type else contextlib.nullcontext():
        assert await bot.feed(update) == []

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
