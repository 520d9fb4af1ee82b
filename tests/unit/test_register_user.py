import asyncio

import pytest

from application.errors import ProfileChangedMeanwhile, UserAlreadyRegistered
from application.register_user import ATTEMPTS, RegisterUser, RegisterUserRequest
from application.user_repository import UserAlreadyExists
from domain.user import User, UserId
from domain.user_name import InvalidUserName, NameProblem
from tests.unit.fakes import InMemoryUserRepository, SteppingClock


async def test_registers_a_new_user_with_the_normalised_name() -> None:
    users, clock = InMemoryUserRepository(), SteppingClock()
    start = clock.now

    profile = await RegisterUser(users, clock).execute(
        RegisterUserRequest(user_id=7, name="  Ada  ")
    )

    assert (profile.user_id, profile.name, profile.registered_at) == (7, "Ada", start)
    assert users.users[UserId(7)].name.value == "Ada"


async def test_a_second_registration_reports_the_stored_name_and_changes_nothing() -> None:
    users = InMemoryUserRepository()
    register = RegisterUser(users, SteppingClock())
    await register.execute(RegisterUserRequest(user_id=7, name="Ada"))

    with pytest.raises(UserAlreadyRegistered) as refused:
        await register.execute(RegisterUserRequest(user_id=7, name="Grace"))

    assert refused.value.profile.name == "Ada"
    assert users.writes == 1


async def test_registering_again_under_the_same_name_answers_as_the_first_time() -> None:
    users, clock = InMemoryUserRepository(), SteppingClock()
    register = RegisterUser(users, clock)
    first = await register.execute(RegisterUserRequest(user_id=7, name="Ada"))

    again = await register.execute(RegisterUserRequest(user_id=7, name=" Ada "))

    assert again == first
    assert users.writes == 1


async def test_concurrent_registrations_store_exactly_one_user() -> None:
    users = InMemoryUserRepository()
    register = RegisterUser(users, SteppingClock())
    names = ["Ada", "Grace", "Edsger"]

    outcomes = await asyncio.gather(
        *(register.execute(RegisterUserRequest(user_id=7, name=n)) for n in names),
        return_exceptions=True,
    )

    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert sum(isinstance(o, UserAlreadyRegistered) for o in outcomes) == 2
    assert users.writes == 1


async def test_an_invalid_name_is_refused_before_anything_is_stored() -> None:
    users = InMemoryUserRepository()

    with pytest.raises(InvalidUserName) as refused:
        await RegisterUser(users, SteppingClock()).execute(
            RegisterUserRequest(user_id=7, name="Ada\nLovelace")
        )

    assert refused.value.problem is NameProblem.LINE_BREAK
    assert users.users == {}


class VanishingUsers(InMemoryUserRepository):
    """Someone else's profile for the same id exists at each insert and is gone at the read
    that follows it, `times` times: a registration and a /forget racing on other devices."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.inserts_refused = 0
        self._times = times

    async def add(self, user: User, request_id: int | None = None) -> None:
        if self.inserts_refused < self._times:
            self.inserts_refused += 1
            raise UserAlreadyExists(user.id.value)
        await super().add(user, request_id)


async def test_a_profile_deleted_between_the_clash_and_the_read_does_not_block_registering() -> (
    None
):
    users = VanishingUsers(times=1)

    profile = await RegisterUser(users, SteppingClock()).execute(
        RegisterUserRequest(user_id=7, name="Ada")
    )

    assert profile.name == "Ada"
    assert users.inserts_refused == 1
    assert users.users[UserId(7)].name.value == "Ada"


async def test_a_profile_that_keeps_changing_is_reported_as_such_and_nothing_is_stored() -> None:
    users = VanishingUsers(times=ATTEMPTS)

    with pytest.raises(ProfileChangedMeanwhile):
        await RegisterUser(users, SteppingClock()).execute(
            RegisterUserRequest(user_id=7, name="Ada")
        )

    assert users.inserts_refused == ATTEMPTS
    assert users.users == {}


async def test_registering_records_the_request_that_did_it_and_only_that_one() -> None:
    users = InMemoryUserRepository()
    register = RegisterUser(users, SteppingClock())

    await register.execute(RegisterUserRequest(user_id=7, name="Ada", request_id=41))
    await register.execute(RegisterUserRequest(user_id=7, name="Ada", request_id=42))

    assert await users.answered_by(7) == 41  # the second changed nothing
