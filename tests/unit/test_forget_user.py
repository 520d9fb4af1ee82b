import pytest

from application.errors import UserNotRegistered
from application.forget_user import ForgetUser, ForgetUserRequest
from domain.user import User, UserId
from domain.user_name import UserName
from tests.unit.fakes import InMemoryUserRepository, SteppingClock


async def test_forgetting_deletes_only_that_user() -> None:
    clock = SteppingClock()
    users = InMemoryUserRepository(
        User.register(UserId(7), UserName("Ada"), clock()),
        User.register(UserId(8), UserName("Bob"), clock()),
    )

    await ForgetUser(users).execute(ForgetUserRequest(user_id=7))

    assert list(users.users) == [UserId(8)]


async def test_forgetting_an_unknown_user_is_not_registered() -> None:
    users = InMemoryUserRepository()

    with pytest.raises(UserNotRegistered):
        await ForgetUser(users).execute(ForgetUserRequest(user_id=7))

    assert users.writes == 0


async def test_forgetting_records_the_request_that_did_it() -> None:
    users = InMemoryUserRepository(User.register(UserId(7), UserName("Ada"), SteppingClock()()))

    await ForgetUser(users).execute(ForgetUserRequest(user_id=7, request_id=42))

    assert await users.answered_by(7) == 42
