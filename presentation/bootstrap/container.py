"""The composition root: settings → MongoDB → adapters → use cases → the bot.

The only module that names concrete adapters. Tests, the terminal chat and the bench get
everything from here and override providers (`storage` as a whole, a use case, the Bot API
session) instead of assembling the bot by hand.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta

from aiogram import Bot
from dependency_injector import containers, providers

from application.choose_language import ChooseLanguage
from application.clock import Clock
from application.export_personal_data import ExportPersonalData
from application.forget_user import ForgetUser
from application.register_user import RegisterUser
from application.rename_user import RenameUser
from application.show_profile import ShowProfile
from infrastructure.clock import utc_now
from infrastructure.conversation.lease import MongoConversationLeases
from infrastructure.conversation.remembered import RememberedConversations
from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.embedded_mongo import EmbeddedMongo, run_embedded_mongo
from infrastructure.mongo_client import MongoPing, get_database, open_mongo_client
from infrastructure.mongo_command_timer import CommandTimer
from infrastructure.mongo_executor import MongoExecutor, open_mongo_executor
from infrastructure.mongo_indexes import create_indexes
from infrastructure.mongo_poller_lease import MongoPollerLease
from infrastructure.mongo_user_repository import MongoUserRepository
from infrastructure.personal_data import MongoPersonalData
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap.metrics import Metrics
from presentation.telegram.bot_api import telegram_session
from presentation.telegram.conversation.early_profile import profile_reader
from presentation.telegram.dispatcher import build_dispatcher
from presentation.telegram.middlewares.flood_control import FloodControl
from presentation.telegram.middlewares.in_flight import InFlightUpdates
from presentation.telegram.middlewares.retry_failed import RetryFailedUpdates
from presentation.telegram.middlewares.storage_admission import StorageAdmission
from presentation.telegram.middlewares.user_order import UserLocks


def _mongo_uri(settings: Settings, embedded_mongo: Callable[[], EmbeddedMongo]) -> Iterator[str]:
    """The configured MONGO_URI, or else the URI of an embedded server started for this
    process. A resource either way, so the client that depends on it closes first."""
    if settings.mongo_uri is not None:
        yield settings.mongo_uri.get_secret_value()
    else:
        yield from run_embedded_mongo(embedded_mongo(), settings.mongo_connect_timeout_seconds)


def _storage_ready(
    users: MongoUserRepository,
    conversations: MongoFSMStorage,
    executor: MongoExecutor,
    metrics: Metrics,
) -> None:
    """MongoDB answers, has its indexes, and its executor's load is measured."""
    create_indexes(users, conversations)
    metrics.watch_executor(executor)


def _bot_token(settings: Settings) -> str:
    if settings.bot_token is None:
        raise StartupError("configuration error: BOT_TOKEN is not set; polling needs a bot token")
    return settings.bot_token.get_secret_value()


def _bot_id(token: str) -> int:
    """The bot's id, the part of its token before the colon: names the bot's poller lease
    and is part of each conversation's key."""
    return int(token.split(":", 1)[0])


def _watched_admission(at_once: int, metrics: Metrics) -> StorageAdmission:
    """As many updates doing storage work at once as the executor has threads."""
    admission = StorageAdmission(at_once)
    metrics.watch_admission(admission)
    return admission


def _isolation(settings: Settings, mode: str) -> str:
    return settings.isolation_for(mode)


def _conversation_memory(settings: Settings, mode: str) -> str:
    """`kept` where one process is known to serve its users alone: a poller (which forgets
    them whenever it takes or loses the poller lease) or a terminal chat, in one process's
    mode. Not a webhook: nothing tells a replica that another one serves too (a rolling
    deploy), so it reads every conversation."""
    alone = settings.isolation_for(mode) == "local" and mode in ("polling", "chat")
    return "kept" if alone else "none"


class MongoStorage(containers.DeclarativeContainer):
    """Users and conversations in MongoDB, on one client and one executor.

    `ready` is the storage's start-up: resolving it starts an embedded server if no
    MONGO_URI is set, proves MongoDB answers and creates the indexes. A test swaps the
    whole storage for an in-memory one with `container.storage.override(...)`.
    """

    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Clock] = providers.Dependency()
    metrics = providers.Dependency(instance_of=Metrics)
    memory = providers.Dependency(instance_of=str)
    """`kept` (conversations remembered: one process, which knows it serves alone) or
    `none`."""
    bot_id = providers.Dependency(instance_of=int)

    # Gateways
    embedded_mongo = providers.Singleton(
        EmbeddedMongo, data_dir=settings.provided.embedded_mongo_path
    )
    uri = providers.Resource(_mongo_uri, settings=settings, embedded_mongo=embedded_mongo.provider)
    client = providers.Resource(
        open_mongo_client,
        uri=uri,
        settings=settings,
        listeners=providers.List(
            providers.Factory(CommandTimer, observe=metrics.provided.observe_mongo_command)
        ),
    )
    executor = providers.Resource(
        open_mongo_executor,
        max_workers=settings.provided.mongo_executor_threads,
        timeout_seconds=settings.provided.mongo_operation_timeout_seconds,
        client=client,
    )
    database = providers.Singleton(get_database, client=client, name=settings.provided.mongo_db)

    # Only while it alone serves each user may a process answer from what it wrote.
    remembered = providers.Selector(
        memory,
        kept=providers.Singleton(
            RememberedConversations, limit=settings.provided.recent_users_kept
        ),
        none=providers.Object(None),
    )

    # Adapters
    user_repository = providers.Singleton(MongoUserRepository, database=database, executor=executor)
    fsm_storage = providers.Singleton(
        MongoFSMStorage,
        database=database,
        executor=executor,
        ttl=providers.Factory(timedelta, seconds=settings.provided.fsm_state_ttl_seconds),
        clock=clock,
        remembered=remembered,
    )
    conversation_leases = providers.Singleton(
        MongoConversationLeases,
        storage=fsm_storage,
        lease_seconds=settings.provided.conversation_lease_seconds,
        wait_seconds=settings.provided.lock_wait_seconds,
        operation_timeout_seconds=settings.provided.mongo_operation_timeout_seconds,
        observer=metrics,
    )
    poller_lease = providers.Singleton(
        MongoPollerLease, database=database, executor=executor, bot_id=bot_id
    )
    personal_data = providers.Singleton(
        MongoPersonalData,
        users=user_repository,
        conversations=fsm_storage,
        executor=executor,
        bot_id=bot_id,
    )
    ping = providers.Singleton(MongoPing, client=client, executor=executor)
    ready = providers.Resource(
        _storage_ready,
        users=user_repository,
        conversations=fsm_storage,
        executor=executor,
        metrics=metrics,
    )


class Container(containers.DeclarativeContainer):
    """`Container(settings=...)`; started and stopped by `presentation.bootstrap.lifecycle`."""

    wiring_config = containers.WiringConfiguration(packages=["presentation.telegram.handlers"])

    settings = providers.Dependency(instance_of=Settings)
    mode = providers.Object("polling")
    """`polling`, `webhook` or `chat`: what the process is for, which picks defaults."""
    clock = providers.Object(utc_now)

    metrics = providers.Singleton(Metrics)

    # Telegram's bot token (its id names the bot's documents)
    bot_token = providers.Callable(_bot_token, settings=settings)
    bot_id = providers.Callable(_bot_id, token=bot_token)

    # Storage
    isolation = providers.Callable(_isolation, settings=settings, mode=mode)
    """`local` or `mongo`: how one user's updates are kept one at a time."""
    storage = providers.Container(
        MongoStorage,
        settings=settings,
        clock=clock,
        metrics=metrics,
        memory=providers.Callable(_conversation_memory, settings=settings, mode=mode),
        bot_id=bot_id,
    )

    # Use cases (handlers ask for them by these names)
    register_user = providers.Factory(RegisterUser, users=storage.user_repository, clock=clock)
    show_profile = providers.Factory(ShowProfile, users=storage.user_repository)
    rename_user = providers.Factory(RenameUser, users=storage.user_repository, clock=clock)
    forget_user = providers.Factory(ForgetUser, users=storage.user_repository)
    choose_language = providers.Factory(ChooseLanguage, users=storage.user_repository, clock=clock)
    export_personal_data = providers.Factory(
        ExportPersonalData, data=storage.personal_data, clock=clock
    )
    retention = storage.personal_data.provided.retention.call()
    """How long what is kept about a user is kept (`/privacy` says it)."""

    # Telegram
    bot_session = providers.Singleton(
        telegram_session,
        api_url=settings.provided.telegram_api_url,
        observe=metrics.provided.observe_telegram_request,
    )
    bot = providers.Singleton(Bot, token=bot_token, session=bot_session)
    in_flight = providers.Singleton(InFlightUpdates)
    flood_control = providers.Singleton(
        FloodControl,
        burst=settings.provided.flood_burst,
        per_minute=settings.provided.flood_per_minute,
        prune_at=settings.provided.recent_users_kept,
    )
    user_locks = providers.Singleton(UserLocks)
    storage_admission = providers.Singleton(
        _watched_admission, at_once=settings.provided.mongo_executor_threads, metrics=metrics
    )
    # Only polling handles a failed update again itself: Telegram redelivers to a webhook.
    retry_failed = providers.Selector(
        mode,
        polling=providers.Singleton(RetryFailedUpdates),
        webhook=providers.Object(None),
        chat=providers.Object(None),
    )
    dispatcher = providers.Singleton(
        build_dispatcher,
        storage=storage.fsm_storage,
        show_profile=show_profile,
        isolation=user_locks,
        flood_control=flood_control,
        in_flight=in_flight,
        storage_budget_seconds=settings.provided.mongo_operation_timeout_seconds,
        storage_admission=storage_admission,
        retry_failed=retry_failed,
        conversation_ttl_seconds=settings.provided.fsm_state_ttl_seconds,
        update_observers=providers.List(metrics.provided.observe_update),
        leases=providers.Selector(
            isolation,
            local=providers.Object(None),
            mongo=storage.conversation_leases,
        ),
        answered=storage.user_repository,
        read_profile=providers.Callable(profile_reader, show_profile.provider),
        flood_burst=settings.provided.flood_burst,
        flood_per_minute=settings.provided.flood_per_minute,
        recent_users_kept=settings.provided.recent_users_kept,
    )
