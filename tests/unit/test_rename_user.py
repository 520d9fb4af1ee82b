import pytest

from application.errors import UserNotRegistered
from application.profile import UserProfile
from application.rename_user import RenameUser, RenameUserRequest
from domain.user import User, UserId
from domain.user_name import InvalidUserName, UserName
from tests.unit.fakes import InMemoryUserRepository, SteppingClock


def _users_with_ada(clock: SteppingClock) -> InMemoryUserRepository:
    return InMemoryUserRepository(User.register(UserId(7), UserName("Ada"), clock()))


async def test_renames_and_stamps_the_change() -> None:
    clock = SteppingClock()
    users = _users_with_ada(clock)
    renamed_at = clock.now

    result = await RenameUser(users, clock).execute(RenameUserRequest(user_id=7, new_name="Grace"))

    assert result.changed
    assert (result.profile.name, result.profile.updated_at) == ("Grace", renamed_at)
    assert users.users[UserId(7)].name.value == "Grace"


async def test_the_same_name_is_unchanged_and_writes_nothing() -> None:
    clock = SteppingClock()
    users = _users_with_ada(clock)

    result = await RenameUser(users, clock).execute(RenameUserRequest(user_id=7, new_name=" Ada "))

    assert not result.changed
    assert result.profile == UserProfile.of(users.users[UserId(7)])
    assert users.writes == 0


async def test_an_invalid_name_keeps_the_old_one() -> None:
    clock = SteppingClock()
    users = _users_with_ada(clock)

    with pytest.raises(InvalidUserName):
        await RenameUser(users, clock).execute(RenameUserRequest(user_id=7, new_name="/me"))

    assert users.users[UserId(7)].name.value == "Ada"


async def test_an_unknown_user_is_not_registered() -> None:
    with pytest.raises(UserNotRegistered):
        await RenameUser(InMemoryUserRepository(), SteppingClock()).execute(
            RenameUserRequest(user_id=7, new_name="Grace")
        )


async def test_a_request_delivered_again_after_its_rename_is_answered_as_renamed() -> None:
    clock = SteppingClock()
    users = _users_with_ada(clock)
    rename = RenameUser(users, clock)
    first = await rename.execute(RenameUserRequest(user_id=7, new_name="Grace", request_id=5))

    again = await rename.execute(RenameUserRequest(user_id=7, new_name="Grace", request_id=5))

    assert first.changed
    assert again.changed
    assert again.profile == first.profile
    assert users.writes == 1


async def test_another_request_for_the_name_just_set_is_unchanged() -> None:
    clock = SteppingClock()
    users = _users_with_ada(clock)
    rename = RenameUser(users, clock)
    await rename.execute(RenameUserRequest(user_id=7, new_name="Grace", request_id=5))

    other = await rename.execute(RenameUserRequest(user_id=7, new_name="Grace", request_id=6))

    assert not other.changed
