from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.user import InvalidUserId, TimestampNotUtc, User, UserId
from domain.user_name import UserName

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_register_stamps_both_timestamps() -> None:
    user = User.register(UserId(7), UserName("Ada"), T0)
    assert (user.created_at, user.updated_at) == (T0, T0)


def test_renamed_keeps_creation_time_and_stamps_the_update() -> None:
    later = T0 + timedelta(days=1)
    user = User.register(UserId(7), UserName("Ada"), T0).renamed(UserName("Grace"), later)
    assert (user.name.value, user.created_at, user.updated_at) == ("Grace", T0, later)


@pytest.mark.parametrize("value", [0, -5, True])
def test_user_ids_are_positive_integers(value: int) -> None:
    with pytest.raises(InvalidUserId):
        UserId(value)


@pytest.mark.parametrize(
    "moment", [datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))]
)
def test_timestamps_must_be_utc(moment: datetime) -> None:
    with pytest.raises(TimestampNotUtc):
        User.register(UserId(7), UserName("Ada"), moment)
