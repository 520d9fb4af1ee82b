import pytest

from application.errors import UserNotRegistered
from application.show_profile import ShowProfile, ShowProfileRequest
from domain.user import User, UserId
from domain.user_name import UserName
from tests.unit.fakes import InMemoryUserRepository, SteppingClock


async def test_shows_name_and_registration_date() -> None:
    registered = User.register(UserId(7), UserName("Ada"), SteppingClock()())
    show = ShowProfile(InMemoryUserRepository(registered))

    profile = await show.execute(ShowProfileRequest(user_id=7))

    assert (profile.name, profile.registered_at) == ("Ada", registered.created_at)


async def test_an_unknown_user_is_not_registered() -> None:
    with pytest.raises(UserNotRegistered):
        await ShowProfile(InMemoryUserRepository()).execute(ShowProfileRequest(user_id=7))
