"""`profilebot polling`: long polling against the Telegram Bot API (or a stand-in for it)."""

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.telegram.commands import BOT_COMMANDS

log = logging.getLogger(__name__)


async def run_polling(container: Container) -> None:
    """Poll until SIGINT/SIGTERM, then let in-flight updates finish before returning.

    The container must be started (`presentation.bootstrap.lifecycle`).
    """
    settings = container.settings()
    in_flight = container.in_flight()
    dispatcher = container.dispatcher()
    # Leaving the block closes the Bot API session, after the in-flight handlers replied.
    async with container.bot() as bot:
        await _register_commands(bot, settings.telegram_api_url)
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
        log.info("polling stopped; waiting for %d update(s) in progress", in_flight.count)
        if not await in_flight.wait_idle(settings.shutdown_grace_seconds):
            log.warning(
                "%d update(s) still in progress after %g s; shutting down anyway",
                in_flight.count,
                settings.shutdown_grace_seconds,
            )


async def _register_commands(bot: Bot, api_url: str) -> None:
    """Publish the command menu; also the first proof that the token and API URL work."""
    try:
        await bot.set_my_commands(BOT_COMMANDS)
    except TelegramUnauthorizedError:
        raise StartupError("the Telegram Bot API rejected BOT_TOKEN (unauthorized)") from None
    except TelegramAPIError as error:
        raise StartupError(
            f"the Telegram Bot API at {api_url} failed: {type(error).__name__}"
        ) from None
