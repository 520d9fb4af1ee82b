"""How one update's language is settled, on its own: the choice kept with the profile, else
the one kept with the conversation, else Telegram's; a storage failure changes nothing."""

from datetime import UTC, datetime

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import User

from application.errors import StorageUnavailable
from application.show_profile import ShowProfile
from domain.language import Language
from domain.user import User as DomainUser
from domain.user import UserId
from domain.user_name import UserName
from presentation.telegram.languages import LANGUAGE_KEY, LastSettled, ReplyLanguage
from presentation.telegram.translation import current_language, speaking
from tests.unit.fakes import InMemoryUserRepository

ADA = 7
ADA_IN_ENGLISH = User(id=ADA, is_bot=False, first_name="Ada", language_code="en")


class StoreDown(InMemoryUserRepository):
    async def get(self, user_id: UserId) -> DomainUser | None:
        raise StorageUnavailable("down")


async def test_a_storage_failure_leaves_the_provisional_language_and_teaches_nothing() -> None:
    remembered = LastSettled()
    remembered.put(ADA, "ru")
    language = ReplyLanguage(ADA_IN_ENGLISH, ShowProfile(StoreDown()), remembered)

    with speaking(language.provisional):
        settled = await language.settle(None)
        spoken = current_language()

    assert (settled, spoken, remembered.get(ADA)) == ("ru", "ru", "ru")


async def test_the_choice_kept_with_the_profile_is_read_when_the_step_did_not() -> None:
    ada = DomainUser.register(UserId(ADA), UserName("Ada"), datetime.now(UTC), Language("ru"))
    remembered = LastSettled()
    language = ReplyLanguage(ADA_IN_ENGLISH, ShowProfile(InMemoryUserRepository(ada)), remembered)

    with speaking(language.provisional):
        settled = await language.settle(None)
        spoken = current_language()

    assert (settled, spoken, remembered.get(ADA)) == ("ru", "ru", "ru")


async def test_without_a_choice_telegrams_language_is_spoken() -> None:
    ada = DomainUser.register(UserId(ADA), UserName("Ada"), datetime.now(UTC))
    language = ReplyLanguage(
        ADA_IN_ENGLISH, ShowProfile(InMemoryUserRepository(ada)), LastSettled()
    )

    with speaking("ru"):
        assert await language.settle(None) == "en"
        assert current_language() == "en"


def test_the_languages_remembered_are_bounded_oldest_first() -> None:
    remembered = LastSettled(capacity=2)
    for user_id, code in [(1, "ru"), (2, "en"), (1, "ru"), (3, "en")]:
        remembered.put(user_id, code)

    assert [remembered.get(user_id) for user_id in (1, 2, 3)] == ["ru", None, "en"]


async def test_the_profiles_choice_counts_over_one_left_in_the_conversation() -> None:
    ada = DomainUser.register(UserId(ADA), UserName("Ada"), datetime.now(UTC), Language("ru"))
    conversation = await _conversation_with({LANGUAGE_KEY: "en"})
    language = ReplyLanguage(
        ADA_IN_ENGLISH, ShowProfile(InMemoryUserRepository(ada)), LastSettled()
    )

    with speaking("en"):
        assert await language.settle(conversation) == "ru"


async def test_a_profiles_choice_the_bot_does_not_speak_counts_as_none() -> None:
    ada = DomainUser.register(UserId(ADA), UserName("Ada"), datetime.now(UTC), Language("de"))
    russian = User(id=ADA, is_bot=False, first_name="Ada", language_code="ru")
    language = ReplyLanguage(russian, ShowProfile(InMemoryUserRepository(ada)), LastSettled())

    with speaking("en"):
        assert await language.settle(None) == "ru"  # Telegram's, not a German date


async def _conversation_with(data: dict[str, str]) -> FSMContext:
    storage = MemoryStorage()
    key = StorageKey(bot_id=1, chat_id=ADA, user_id=ADA)
    await storage.set_data(key, data)
    return FSMContext(storage, key)
