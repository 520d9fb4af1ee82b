"""Use case: a user asks for everything kept about them."""

from dataclasses import dataclass
from datetime import datetime

from application.clock import Clock
from application.personal_data import PersonalData, Retention, StoredRecord
from application.profile import UserProfile
from domain.user import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportPersonalDataRequest:
    user_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDataExport:
    """What is kept about one user, when it was read, and how long each kind is kept."""

    user_id: int
    exported_at: datetime
    profile: UserProfile | None
    """Their profile, if they have one (its language is the one they chose)."""
    records: tuple[StoredRecord, ...]
    """Every record kept about them, whole; empty if nothing is."""
    retention: Retention


class ExportPersonalData:
    """Reads back every record kept about the user, registered or not. Nothing changes."""

    def __init__(self, data: PersonalData, clock: Clock) -> None:
        self._data = data
        self._clock = clock

    async def execute(self, request: ExportPersonalDataRequest) -> PersonalDataExport:
        """Raises `StorageUnavailable`."""
        stored = await self._data.stored_about(UserId(request.user_id))
        return PersonalDataExport(
            user_id=request.user_id,
            exported_at=self._clock(),
            profile=None if stored.user is None else UserProfile.of(stored.user),
            records=stored.records,
            retention=self._data.retention(),
        )
