"""The real bot, wired as in production, driven without a network: updates go straight into
the dispatcher and replies are recorded by a local Bot API session."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from dependency_injector import providers
from pymongo import monitoring

from bench.command_log import CommandLog
from bench.variants import AsyncClientExecutor, ToThreadExecutor
from infrastructure.settings import Settings
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.terminal.chat import local_update
from presentation.entrypoints.terminal.local_session import LocalBotSession

SCRIPT = ["/start", "{name}", "/me", "/rename", "{name} II", "/rename", "/cancel"]
"""One user's session: register, look, rename, start renaming again and cancel."""


COMMAND_LOG = CommandLog()
monitoring.register(COMMAND_LOG)
_update_ids = itertools.count(1)


@dataclass
class Stack:
    container: Container
    dispatcher: Dispatcher
    bot: Bot
    database: str

    async def send(self, user_id: int, text: str) -> float:
        """Feed one message; its handling time in seconds."""
        started = time.perf_counter()
        await self.dispatcher.feed_update(self.bot, local_update(next(_update_ids), user_id, text))
        return time.perf_counter() - started

    def commands(self) -> list[str]:
        return [name for db, name in COMMAND_LOG.commands if db == self.database]


@asynccontextmanager
async def bot_stack(
    uri: str, variant: str, database: str = "bench", isolation: str = "local"
) -> AsyncIterator[Stack]:
    """The bot on `uri`; `isolation` is `EVENT_ISOLATION` (`mongo`: conversation leases)."""
    settings = Settings(
        _env_file=None,
        mongo_uri=uri,
        mongo_db=database,
        mongo_operation_timeout_ms=30_000,  # the bench measures speed, not timeouts
        flood_burst=10_000,  # and drives users faster than flood control allows
        bot_token="1:bench-token",
        event_isolation=isolation,
        conversation_lease_seconds=120,  # outlasts two of those timeouts, as it must
    )
    container = Container(settings=settings)
    # Replies are answered and dropped: kept, they would grow the bench's memory, not the bot's.
    container.bot_session.override(providers.Object(LocalBotSession(lambda _: None)))
    async_executor = None
    if variant == "to_thread":
        container.storage.executor.override(providers.Object(ToThreadExecutor()))
    elif variant == "async":
        async_executor = AsyncClientExecutor(uri, database, settings.mongo_executor_threads)
        container.storage.executor.override(providers.Object(async_executor))
    # In a thread: the latency proxy may run on this loop's machine time, and start-up blocks.
    await asyncio.to_thread(lifecycle.start, container)
    try:
        yield Stack(container, container.dispatcher(), container.bot(), database)
    finally:
        if async_executor is not None:
            await async_executor.client.close()
        await asyncio.to_thread(lifecycle.stop, container)


async def run_scripts(stack: Stack, concurrency: int, users_each: int, first_user: int) -> int:
    """`concurrency` workers each take `users_each` users through SCRIPT; updates sent."""

    async def worker(index: int) -> int:
        sent = 0
        for n in range(users_each):
            user_id = first_user + index * users_each + n
            for text in SCRIPT:
                await stack.send(user_id, text.format(name=f"User {user_id}"))
                sent += 1
        return sent

    return sum(await asyncio.gather(*(worker(i) for i in range(concurrency))))
