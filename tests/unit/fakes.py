"""In-memory stand-ins for the ports, shared by the use-case tests."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from application.personal_data import Retention, StoredAbout, StoredRecord
from application.user_repository import NameChange, UserAlreadyExists
from domain.language import Language
from domain.user import User, UserId
from domain.user_name import UserName


class InMemoryUserRepository:
    """`UserRepository` over a dict; `writes` counts calls that changed something."""

    def __init__(self, *users: User) -> None:
        self.users: dict[UserId, User] = {user.id: user for user in users}
        self.answered: dict[int, int | None] = {}
        """By user id: the request that last registered, renamed or deleted them."""
        self.writes = 0

    async def get(self, user_id: UserId) -> User | None:
        return self.users.get(user_id)

    async def add(self, user: User, request_id: int | None = None) -> None:
        if user.id in self.users:
            raise UserAlreadyExists(user.id.value)
        self.users[user.id] = user
        self.answered[user.id.value] = request_id
        self.writes += 1

    async def change_name(
        self, user_id: UserId, name: UserName, at: datetime, request_id: int | None = None
    ) -> NameChange | None:
        before = self.users.get(user_id)
        if before is None:
            return None
        change = NameChange(before, self.answered.get(user_id.value))
        if before.name != name:
            self.users[user_id] = before.renamed(name, at)
            self.answered[user_id.value] = request_id
            self.writes += 1
        return change

    async def set_language(self, user_id: UserId, language: Language, at: datetime) -> User | None:
        user = self.users.get(user_id)
        if user is None or user.language == language:
            return user
        self.users[user_id] = user.speaking(language, at)
        self.writes += 1
        return self.users[user_id]

    async def remove(self, user_id: UserId, request_id: int | None = None) -> User | None:
        removed = self.users.pop(user_id, None)
        if removed is not None:
            self.answered[user_id.value] = request_id
            self.writes += 1
        return removed

    async def answered_by(self, user_id: int) -> int | None:
        return self.answered.get(user_id)


RETENTION = Retention(
    deletion_record=timedelta(hours=48),
    open_question=timedelta(hours=24),
    conversation=timedelta(hours=48),
    handled_updates=100,
)
"""What the fake says it keeps, and for how long (test data, not the adapters' settings)."""


class InMemoryPersonalData:
    """`PersonalData` over the fake repository: a user's record (their profile, or which
    request deleted them), then whatever `others` keeps about them (say, a conversation)."""

    def __init__(
        self,
        users: InMemoryUserRepository,
        others: Callable[[int], Iterable[StoredRecord]] = lambda _user_id: (),
        retention: Retention = RETENTION,
    ) -> None:
        self._users = users
        self._others = others
        self._retention = retention

    async def stored_about(self, user_id: UserId) -> StoredAbout:
        user = self._users.users.get(user_id)
        answered_by = self._users.answered.get(user_id.value)
        fields: dict[str, object] | None = None
        if user is not None:
            fields = {
                "telegram_id": user.id.value,
                "name": user.name.value,
                "created_at": user.created_at,
                "updated_at": user.updated_at,
                "answered_by": answered_by,
            } | ({} if user.language is None else {"language": user.language.code})
        elif user_id.value in self._users.answered:  # deleted: the record of which request
            fields = {"telegram_id": user_id.value, "answered_by": answered_by}
        records = [] if fields is None else [StoredRecord(kept_in="users", fields=fields)]
        return StoredAbout(user=user, records=(*records, *self._others(user_id.value)))

    def retention(self) -> Retention:
        return self._retention


class SteppingClock:
    """A clock that starts at a fixed moment and moves one minute per reading."""

    def __init__(self, start: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        moment = self.now
        self.now += timedelta(minutes=1)
        return moment
