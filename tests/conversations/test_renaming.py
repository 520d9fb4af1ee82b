import pytest

from presentation.telegram import texts
from presentation.telegram.states import Renaming
from tests.conversations.conftest import BotUnderTest


@pytest.fixture
async def ada(bot: BotUnderTest) -> BotUnderTest:
    await bot.send("/start")
    await bot.send("Ada")
    return bot


@pytest.mark.parametrize("command", ["/rename", "/update_name"])
async def test_asks_for_the_new_name(ada: BotUnderTest, command: str) -> None:
    assert await ada.send(command) == [texts.ask_new_name("Ada")]
    assert await ada.state_of() == Renaming.waiting_for_new_name.state


async def test_renames_and_keeps_the_registration_date(ada: BotUnderTest) -> None:
    [before] = ada.stored_users()
    await ada.send("/rename")

    assert await ada.send("Grace Hopper") == [texts.renamed("Grace Hopper")]
    [after] = ada.stored_users()
    assert after["name"] == "Grace Hopper"
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] >= before["updated_at"]
    assert await ada.state_of() is None


async def test_the_same_name_is_unchanged(ada: BotUnderTest) -> None:
    [before] = ada.stored_users()
    await ada.send("/rename")

    assert await ada.send(" Ada ") == [texts.name_unchanged("Ada")]
    assert ada.stored_users() == [before]
    assert await ada.state_of() is None


async def test_an_invalid_new_name_keeps_waiting_and_the_old_name(ada: BotUnderTest) -> None:
    await ada.send("/rename")

    [reply] = await ada.send("x" * 100)

    assert "at most 64 characters" in reply
    assert await ada.state_of() == Renaming.waiting_for_new_name.state
    assert [u["name"] for u in ada.stored_users()] == ["Ada"]


async def test_a_photo_instead_of_a_new_name_asks_for_text(ada: BotUnderTest) -> None:
    await ada.send("/rename")

    assert await ada.send_photo() == [texts.need_text_name()]
    assert await ada.state_of() == Renaming.waiting_for_new_name.state


@pytest.mark.parametrize("command", ["/rename", "/update_name"])
async def test_an_unregistered_user_is_pointed_at_start(bot: BotUnderTest, command: str) -> None:
    assert await bot.send(command) == [texts.not_registered()]
    assert await bot.state_of() is None


async def test_start_during_a_rename_greets_and_keeps_the_rename_open(ada: BotUnderTest) -> None:
    await ada.send("/rename")

    [reply] = await ada.send("/start")

    assert reply.startswith(texts.already_registered("Ada"))
    assert await ada.state_of() == Renaming.waiting_for_new_name.state


async def test_a_profile_deleted_mid_rename_ends_the_conversation(ada: BotUnderTest) -> None:
    await ada.send("/rename")
    ada.records.delete_users()

    assert await ada.send("Grace") == [texts.not_registered()]
    assert await ada.state_of() is None
    assert ada.stored_users() == []
