"""How many updates Telegram holds for the bot, for `profilebot_telegram_pending_updates`:
the one sign that updates are not arriving at all (a broken webhook URL or TLS proxy, a
poller that does not poll), which no count of handled updates can show."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot

from presentation.bootstrap.metrics import Metrics

log = logging.getLogger(__name__)

CHECK_SECONDS = 30.0


@contextlib.asynccontextmanager
async def watching_telegram_backlog(
    bot: Bot, metrics: Metrics, every: float = CHECK_SECONDS
) -> AsyncIterator[None]:
    """Asks getWebhookInfo now and every `every` seconds until the block ends."""
    task = asyncio.create_task(_watch(bot, metrics, every), name="telegram backlog")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(bot: Bot, metrics: Metrics, every: float) -> None:
    failing = False
    while True:
        try:
            info = await bot.get_webhook_info()
        except Exception as error:  # counted in profilebot_telegram_requests_total
            if not failing:
                log.warning("cannot ask Telegram for its backlog: %s", type(error).__name__)
            failing = True
        else:
            metrics.set_telegram_pending_updates(info.pending_update_count)
            failing = False
        await asyncio.sleep(every)
