from application.export_personal_data import ExportPersonalData, ExportPersonalDataRequest
from application.personal_data import StoredRecord
from application.profile import UserProfile
from domain.language import Language
from domain.user import User, UserId
from domain.user_name import UserName
from tests.unit.fakes import RETENTION, InMemoryPersonalData, InMemoryUserRepository, SteppingClock

ADA, BOB = 7, 8


def _registered(user_id: int, name: str) -> User:
    return User.register(UserId(user_id), UserName(name), SteppingClock()(), Language("ru"))


async def test_a_registered_users_export_holds_their_profile_and_their_record() -> None:
    ada = _registered(ADA, "Ada")
    users = InMemoryUserRepository(ada, _registered(BOB, "Bob"))
    clock = SteppingClock()
    export = ExportPersonalData(InMemoryPersonalData(users), clock)

    exported = await export.execute(ExportPersonalDataRequest(user_id=ADA))

    assert exported.user_id == ADA
    assert exported.profile == UserProfile.of(ada)
    assert [record.fields["name"] for record in exported.records] == ["Ada"]
    assert exported.exported_at < clock.now
    assert exported.retention == RETENTION


async def test_what_else_is_kept_about_the_user_comes_with_their_profile() -> None:
    conversation = StoredRecord(kept_in="fsm_states", fields={"state": None})
    data = InMemoryPersonalData(
        InMemoryUserRepository(_registered(ADA, "Ada")),
        others=lambda user_id: [conversation] if user_id == ADA else [],
    )

    exported = await ExportPersonalData(data, SteppingClock()).execute(
        ExportPersonalDataRequest(user_id=ADA)
    )

    assert [record.kept_in for record in exported.records] == ["users", "fsm_states"]


async def test_an_unknown_user_has_no_profile_and_nothing_kept() -> None:
    users = InMemoryUserRepository(_registered(BOB, "Bob"))

    exported = await ExportPersonalData(InMemoryPersonalData(users), SteppingClock()).execute(
        ExportPersonalDataRequest(user_id=ADA)
    )

    assert (exported.profile, exported.records) == (None, ())


async def test_a_deleted_users_export_holds_only_the_record_of_the_deletion() -> None:
    users = InMemoryUserRepository(_registered(ADA, "Ada"))
    await users.remove(UserId(ADA), request_id=41)

    exported = await ExportPersonalData(InMemoryPersonalData(users), SteppingClock()).execute(
        ExportPersonalDataRequest(user_id=ADA)
    )

    assert exported.profile is None
    assert [record.fields for record in exported.records] == [
        {"telegram_id": ADA, "answered_by": 41}
    ]


async def test_exporting_changes_nothing() -> None:
    users = InMemoryUserRepository(_registered(ADA, "Ada"))

    await ExportPersonalData(InMemoryPersonalData(users), SteppingClock()).execute(
        ExportPersonalDataRequest(user_id=ADA)
    )

    assert users.writes == 0
