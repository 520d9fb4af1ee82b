import pytest

from application.profile import UserProfile
from infrastructure.mongo_user_repository import user_from_document
from presentation.telegram import states, texts
from presentation.telegram.states import Renaming
from tests.conversations.conftest import BotUnderTest


@pytest.mark.parametrize("command", ["/me", "/profile", "/details"])
async def test_shows_the_stored_name_and_registration_date(bot: BotUnderTest, command: str) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    [user] = bot.stored_users()

    [reply] = await bot.send(command)

    assert reply == texts.profile(UserProfile.of(user_from_document(user)))
    at = user["created_at"]
    assert f"Name: Ada\nRegistered: {at:%B} {at.day}, {at:%Y, %H:%M} UTC" == reply


@pytest.mark.parametrize("command", ["/me", "/profile", "/details"])
async def test_an_unregistered_user_is_pointed_at_start(bot: BotUnderTest, command: str) -> None:
    assert await bot.send(command) == [texts.not_registered()]


async def test_looking_at_the_profile_mid_rename_keeps_the_rename_open(bot: BotUnderTest) -> None:
    await bot.send("/start")
    await bot.send("Ada")
    await bot.send("/rename")

    [reply] = await bot.send("/me")

    assert reply.endswith(states.with_reminder("", Renaming.waiting_for_new_name.state).strip())
    assert await bot.send("Grace") == [texts.renamed("Grace")]
