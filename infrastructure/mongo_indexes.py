"""The indexes both adapters rely on, made once at start-up: a unique Telegram id is what
settles two registrations racing, and the TTL index removes abandoned conversations."""

from pymongo.errors import PyMongoError

from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.mongo_user_repository import MongoUserRepository
from infrastructure.startup_error import StartupError


def create_indexes(users: MongoUserRepository, conversations: MongoFSMStorage) -> None:
    """Container resource; idempotent, so every process may run it at every start."""
    try:
        users.create_indexes()
        conversations.create_indexes()
    except PyMongoError as error:
        raise StartupError(
            f"MongoDB failed while creating indexes ({type(error).__name__})"
        ) from None
