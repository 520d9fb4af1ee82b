"""The composition root: settings → MongoDB → repository and FSM storage → use cases."""

from collections.abc import Iterator
from datetime import timedelta

from dependency_injector import containers, providers

from application.forget_user import ForgetUser
from application.register_user import RegisterUser
from application.rename_user import RenameUser
from application.show_profile import ShowProfile
from infrastructure.clock import utc_now
from infrastructure.embedded_mongo import run_embedded_mongo
from infrastructure.mongo_client import get_database, open_mongo_client
from infrastructure.mongo_executor import open_mongo_executor
from infrastructure.mongo_fsm_storage import MongoFSMStorage
from infrastructure.mongo_user_repository import MongoUserRepository
from infrastructure.settings import Settings


def _mongo_uri(settings: Settings) -> Iterator[str]:
    """The configured MONGO_URI, or else the URI of an embedded server started for this
    process. A resource either way, so the client that depends on it closes first."""
    if settings.mongo_uri is not None:
        yield settings.mongo_uri.get_secret_value()
    else:
        yield from run_embedded_mongo(
            settings.embedded_mongo_path, settings.mongo_connect_timeout_seconds
        )


class Container(containers.DeclarativeContainer):
    """`Container(settings=...)`; tests override providers rather than patch modules."""

    wiring_config = containers.WiringConfiguration(packages=["presentation.handlers"])

    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Object(utc_now)

    # Gateways
    mongo_uri = providers.Resource(_mongo_uri, settings=settings)
    mongo_client = providers.Resource(open_mongo_client, uri=mongo_uri, settings=settings)
    mongo_executor = providers.Resource(
        open_mongo_executor,
        max_workers=settings.provided.mongo_executor_threads,
        timeout_seconds=settings.provided.mongo_operation_timeout_seconds,
        client=mongo_client,
    )
    database = providers.Singleton(
        get_database, client=mongo_client, name=settings.provided.mongo_db
    )

    # Repositories and storages
    user_repository = providers.Singleton(
        MongoUserRepository, database=database, executor=mongo_executor
    )
    fsm_storage = providers.Singleton(
        MongoFSMStorage,
        database=database,
        executor=mongo_executor,
        ttl=providers.Factory(timedelta, seconds=settings.provided.fsm_state_ttl_seconds),
        clock=clock,
    )

    # Use cases
    register_user = providers.Factory(RegisterUser, users=user_repository, clock=clock)
    show_profile = providers.Factory(ShowProfile, users=user_repository)
    rename_user = providers.Factory(RenameUser, users=user_repository, clock=clock)
    forget_user = providers.Factory(ForgetUser, users=user_repository)
