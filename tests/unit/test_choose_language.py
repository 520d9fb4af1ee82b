import pytest

from application.choose_language import ChooseLanguage, ChooseLanguageRequest
from application.errors import UserNotRegistered
from application.forget_user import ForgetUser, ForgetUserRequest
from application.register_user import RegisterUser, RegisterUserRequest
from domain.language import InvalidLanguage, Language
from domain.user import User, UserId
from domain.user_name import UserName
from tests.unit.fakes import InMemoryUserRepository, SteppingClock


async def test_the_choice_is_kept_with_the_profile_and_stamped() -> None:
    clock = SteppingClock()
    users = InMemoryUserRepository(User.register(UserId(7), UserName("Ada"), clock()))
    chosen_at = clock.now

    profile = await ChooseLanguage(users, clock).execute(
        ChooseLanguageRequest(user_id=7, language="ru")
    )

    assert (profile.language, profile.updated_at) == ("ru", chosen_at)
    assert users.users[UserId(7)].language == Language("ru")


async def test_a_user_without_a_profile_has_nowhere_to_keep_it() -> None:
    users = InMemoryUserRepository()

    with pytest.raises(UserNotRegistered):
        await ChooseLanguage(users, SteppingClock()).execute(
            ChooseLanguageRequest(user_id=7, language="ru")
        )

    assert users.writes == 0


@pytest.mark.parametrize("code", ["", "RU", "rus", "r", "ru-RU", "р", "12"])
async def test_what_is_not_a_two_letter_code_is_refused(code: str) -> None:
    users = InMemoryUserRepository(User.register(UserId(7), UserName("Ada"), SteppingClock()()))

    with pytest.raises(InvalidLanguage):
        await ChooseLanguage(users, SteppingClock()).execute(
            ChooseLanguageRequest(user_id=7, language=code)
        )

    assert users.writes == 0


async def test_a_choice_made_before_registering_is_registered_with_the_profile() -> None:
    users = InMemoryUserRepository()

    profile = await RegisterUser(users, SteppingClock()).execute(
        RegisterUserRequest(user_id=7, name="Ada", language="ru")
    )

    assert profile.language == "ru"
    assert users.users[UserId(7)].language == Language("ru")


async def test_forgetting_returns_the_profile_as_it_was_its_language_included() -> None:
    clock = SteppingClock()
    ada = User.register(UserId(7), UserName("Ada"), clock(), Language("ru"))
    users = InMemoryUserRepository(ada)

    removed = await ForgetUser(users).execute(ForgetUserRequest(user_id=7))

    assert (removed.name, removed.language) == ("Ada", "ru")
    assert users.users == {}
