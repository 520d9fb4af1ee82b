"""`UserRepository` over a MongoDB collection, one document per Telegram user."""

from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from application.user_repository import NameChange, UserAlreadyExists
from domain.language import InvalidLanguage, Language
from domain.user import User, UserId
from domain.user_name import UserName
from infrastructure.clock import utc_now
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.schema import PREVIOUS_VERSION, VERSION_FIELD, Upgrade, stamp, version_of

USER_ID_INDEX = "telegram_id_unique"
FORGOTTEN_INDEX = "forgotten_at_ttl"
FORGOTTEN_KEPT = timedelta(hours=48)
"""How long a deleted user's record of the update that deleted them is kept: longer than
Telegram keeps an update (24 h)."""
PROFILE: Document = {"name": {"$exists": True}}
"""A user's document that is a profile, not the record a deletion left."""
USERS = Upgrade(
    collection="users",
    stages=(
        {
            "$set": {
                "answered_by": {"$ifNull": ["$answered_by", {"$ifNull": ["$renamed_by", None]}]},
                **stamp(),
            }
        },
        {"$unset": "renamed_by"},
    ),
)
"""A version 1 document may name the update that last answered `renamed_by`: the name
builds before 0.1.0 gave it (renames only), left on documents nobody renamed since, which
0.1.0 read as `answered_by`. The current version has `answered_by` only."""


class MongoUserRepository:
    """Documents `{telegram_id, name, created_at, updated_at, answered_by, language,
    schema_version}` (`answered_by`: the update that last registered or renamed the user;
    `language`: the one they chose, absent if none); uniqueness is the index's job.

    Deleting leaves `{telegram_id, answered_by, forgotten_at, schema_version}` (no name:
    nothing of the profile), which no read sees as a user and a registration replaces; the
    TTL index removes it `FORGOTTEN_KEPT` later, when Telegram no longer delivers the update
    again. Each write that changes part of a document upgrades it too (`USERS`).
    """

    def __init__(
        self,
        database: Database[Document],
        executor: MongoExecutor,
        collection: str = USERS.collection,
    ) -> None:
        self._users: Collection[Document] = database[collection]
        self._executor = executor

    @property
    def collection(self) -> Collection[Document]:
        """Where the users' documents are (a user's own are those with their `telegram_id`)."""
        return self._users

    def create_indexes(self) -> None:
        """The unique index on the Telegram id; a no-op when it already exists. Blocking:
        called once at start-up, before any update is handled."""
        self._users.create_index([("telegram_id", ASCENDING)], unique=True, name=USER_ID_INDEX)
        self._users.create_index(
            [("forgotten_at", ASCENDING)],
            expireAfterSeconds=round(FORGOTTEN_KEPT.total_seconds()),
            name=FORGOTTEN_INDEX,
        )

    async def get(self, user_id: UserId) -> User | None:
        document = await self._executor.run(
            self._users.find_one, {"telegram_id": user_id.value, **PROFILE}, {"_id": False}
        )
        return None if document is None else user_from_document(document)

    async def add(self, user: User, request_id: int | None = None) -> None:
        document = user_document(user) | {"answered_by": request_id}
        if not await self._executor.run(insert_unless_taken, self._users, document):
            raise UserAlreadyExists(user.id.value)

    async def change_name(
        self, user_id: UserId, name: UserName, at: datetime, request_id: int | None = None
    ) -> NameChange | None:
        # One atomic findAndModify. `$literal` keeps a name such as "$where" a plain string.
        literal = {"$literal": name.value}
        unchanged = {"$eq": ["$name", literal]}
        before = await self._executor.run(
            self._users.find_one_and_update,
            {"telegram_id": user_id.value, **PROFILE},
            [
                *USERS.stages,
                {
                    "$set": {
                        "name": literal,
                        "updated_at": {"$cond": [unchanged, "$updated_at", at]},
                        "answered_by": {"$cond": [unchanged, "$answered_by", request_id]},
                    }
                },
            ],
            {"_id": False},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        return NameChange(user_from_document(before), _answered_by(before))

    async def set_language(self, user_id: UserId, language: Language, at: datetime) -> User | None:
        after = await self._executor.run(
            self._users.find_one_and_update,
            {"telegram_id": user_id.value, **PROFILE},
            [
                *USERS.stages,
                {
                    "$set": {
                        "language": language.code,
                        "updated_at": {
                            "$cond": [{"$eq": ["$language", language.code]}, "$updated_at", at]
                        },
                    }
                },
            ],
            {"_id": False},
            return_document=ReturnDocument.AFTER,
        )
        return None if after is None else user_from_document(after)

    async def remove(self, user_id: UserId, request_id: int | None = None) -> User | None:
        # One findAndModify: the user as they were comes with the delete, which leaves
        # only the record of the update that made it.
        forgotten = {"telegram_id": user_id.value, "answered_by": request_id}
        removed = await self._executor.run(
            self._users.find_one_and_replace,
            {"telegram_id": user_id.value, **PROFILE},
            forgotten | {"forgotten_at": utc_now(), **stamp()},
            {"_id": False},
        )
        return None if removed is None else user_from_document(removed)

    async def answered_by(self, user_id: int) -> int | None:
        document = await self._executor.run(
            self._users.find_one,
            {"telegram_id": user_id},
            {"_id": False, "answered_by": True, "renamed_by": True, VERSION_FIELD: True},
        )
        return None if document is None else _answered_by(document)


def insert_unless_taken(users: Collection[Document], document: Document) -> bool:
    """Insert `document`; False when the unique index already holds its Telegram id for
    a profile (a deletion's record is replaced)."""
    try:
        users.insert_one(document)
    except DuplicateKeyError:
        forgotten = {"telegram_id": document["telegram_id"], "name": {"$exists": False}}
        replacement = {k: v for k, v in document.items() if k != "_id"}  # set by the insert
        return users.replace_one(forgotten, replacement).matched_count > 0
    return True


def user_document(user: User) -> Document:
    """The document that stores `user`: the one mapping, which the tests' in-memory records
    use too. A new stored field joins here and in `user_from_document`."""
    document: Document = {
        "telegram_id": user.id.value,
        "name": user.name.value,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        **stamp(),
    }
    if user.language is not None:
        document["language"] = user.language.code
    return document


def user_from_document(document: Document) -> User:
    """The user a stored document holds (fields the domain does not know are ignored)."""
    return User(
        id=UserId(document["telegram_id"]),
        name=UserName(document["name"]),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        language=_language(document.get("language")),
    )


def _language(stored: object) -> Language | None:
    """A stored choice the domain no longer accepts reads as no choice, not as an error."""
    try:
        return Language(stored) if isinstance(stored, str) else None
    except InvalidLanguage:
        return None


def _answered_by(document: Document) -> int | None:
    """The update that last answered, as the document's version names it (the previous
    version's reader reads what `USERS` folds into `answered_by`)."""
    answered_by = document.get("answered_by")
    if answered_by is None and version_of(document) == PREVIOUS_VERSION:
        answered_by = document.get("renamed_by")
    return answered_by if isinstance(answered_by, int) else None
