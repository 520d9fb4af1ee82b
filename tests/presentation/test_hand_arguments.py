"""`you` is one per try of an update: the handler and the errors router of a try share it (what
it read stays read), and a try of an update handled again gets its own, over its own
conversation."""

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import TelegramObject, User

from application.show_profile import ShowProfile
from presentation.telegram.handlers.arguments import YOU_KEY, HandArguments, You
from presentation.telegram.languages import REPLY_LANGUAGE_KEY, LastSettled, ReplyLanguage
from tests.unit.fakes import InMemoryUserRepository

ADA = User(id=7, is_bot=False, first_name="Ada")


def a_try(language: ReplyLanguage) -> dict[str, Any]:
    """The data of one try of an update: its own conversation, the update's language."""
    key = StorageKey(bot_id=1, chat_id=ADA.id, user_id=ADA.id)
    return {REPLY_LANGUAGE_KEY: language, "state": FSMContext(MemoryStorage(), key)}


async def handed(arguments: HandArguments, data: dict[str, Any]) -> You:
    async def handler(_event: TelegramObject, data: dict[str, Any]) -> You:
        you: You = data[YOU_KEY]
        return you

    result: You = await arguments(handler, TelegramObject(), data)
    return result


async def test_a_handler_and_its_error_handler_share_one_you() -> None:
    arguments = HandArguments()
    language = ReplyLanguage(ADA, ShowProfile(InMemoryUserRepository()), LastSettled())
    first = a_try(language)

    assert await handed(arguments, first) is await handed(arguments, first)


async def test_a_try_of_an_update_handled_again_gets_its_own_you() -> None:
    arguments = HandArguments()
    language = ReplyLanguage(ADA, ShowProfile(InMemoryUserRepository()), LastSettled())

    first = await handed(arguments, a_try(language))
    again = await handed(arguments, a_try(language))

    assert first is not again
