"""`UserRepository` over a MongoDB collection, one document per Telegram user."""

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from application.user_repository import NameChange, UserAlreadyExists
from domain.language import InvalidLanguage, Language
from domain.user import User, UserId
from domain.user_name import UserName
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

USER_ID_INDEX = "telegram_id_unique"


class MongoUserRepository:
    """Documents `{telegram_id, name, created_at, updated_at, renamed_by, language}`
    (`renamed_by`: the update that last renamed the user; `language`: the one they chose,
    absent if none); uniqueness is the index's job."""

    def __init__(
        self, database: Database[Document], executor: MongoExecutor, collection: str = "users"
    ) -> None:
        self._users: Collection[Document] = database[collection]
        self._executor = executor

    def create_indexes(self) -> None:
        """The unique index on the Telegram id; a no-op when it already exists. Blocking:
        called once at start-up, before any update is handled."""
        self._users.create_index([("telegram_id", ASCENDING)], unique=True, name=USER_ID_INDEX)

    async def get(self, user_id: UserId) -> User | None:
        document = await self._executor.run(
            self._users.find_one, {"telegram_id": user_id.value}, {"_id": False}
        )
        return None if document is None else user_from_document(document)

    async def add(self, user: User) -> None:
        if not await self._executor.run(insert_unless_taken, self._users, user_document(user)):
            raise UserAlreadyExists(user.id.value)

    async def change_name(
        self, user_id: UserId, name: UserName, at: datetime, request_id: int | None = None
    ) -> NameChange | None:
        # One atomic findAndModify. `$literal` keeps a name such as "$where" a plain string.
        literal = {"$literal": name.value}
        unchanged = {"$eq": ["$name", literal]}
        before = await self._executor.run(
            self._users.find_one_and_update,
            {"telegram_id": user_id.value},
            [
                {
                    "$set": {
                        "name": literal,
                        "updated_at": {"$cond": [unchanged, "$updated_at", at]},
                        "renamed_by": {"$cond": [unchanged, "$renamed_by", request_id]},
                    }
                }
            ],
            {"_id": False},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        renamed_by = before.get("renamed_by")
        last_renamed_by = renamed_by if isinstance(renamed_by, int) else None
        return NameChange(user_from_document(before), last_renamed_by)

    async def set_language(self, user_id: UserId, language: Language, at: datetime) -> User | None:
        after = await self._executor.run(
            self._users.find_one_and_update,
            {"telegram_id": user_id.value},
            [
                {
                    "$set": {
                        "language": language.code,
                        "updated_at": {
                            "$cond": [{"$eq": ["$language", language.code]}, "$updated_at", at]
                        },
                    }
                }
            ],
            {"_id": False},
            return_document=ReturnDocument.AFTER,
        )
        return None if after is None else user_from_document(after)

    async def remove(self, user_id: UserId) -> User | None:
        # One findAndModify: the user as they were comes with the delete.
        removed = await self._executor.run(
            self._users.find_one_and_delete, {"telegram_id": user_id.value}, {"_id": False}
        )
        return None if removed is None else user_from_document(removed)


def insert_unless_taken(users: Collection[Document], document: Document) -> bool:
    """Insert `document`; False when the unique index already holds its Telegram id."""
    try:
        users.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def user_document(user: User) -> Document:
    """The document that stores `user`: the one mapping, which the tests' in-memory records
    use too. A new stored field joins here and in `user_from_document`."""
    document: Document = {
        "telegram_id": user.id.value,
        "name": user.name.value,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
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
