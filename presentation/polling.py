"""`profilebot polling`: long polling against the Telegram Bot API (or a stand-in for it)."""

import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bot_commands import BOT_COMMANDS
from presentation.container import Container
from presentation.dispatcher import build_dispatcher
from presentation.lifecycle import prepare_storage
from presentation.middlewares.in_flight import InFlightUpdates
from presentation.telegram_retries import RetryTelegramRequests

log = logging.getLogger(__name__)


async def run_polling(container: Container, settings: Settings) -> None:
    """Poll until SIGINT/SIGTERM, then let in-flight updates finish before returning."""
    if settings.bot_token is None:
        raise StartupError("configuration error: BOT_TOKEN is not set; polling needs a bot token")
    api = TelegramAPIServer.from_base(settings.telegram_api_url)
    session = AiohttpSession(api=api)
    session.middleware(RetryTelegramRequests())
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    in_flight = InFlightUpdates()
    dispatcher = build_dispatcher(container.fsm_storage(), settings, in_flight)
    try:
        await prepare_storage(container)
        await _register_commands(bot, settings)
        # The session stays open after polling stops: in-flight handlers still need to reply.
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
        log.info("polling stopped; waiting for %d update(s) in progress", in_flight.count)
        if not await in_flight.wait_idle(settings.shutdown_grace_seconds):
            log.warning(
                "%d update(s) still in progress after %g s; shutting down anyway",
                in_flight.count,
                settings.shutdown_grace_seconds,
            )
    finally:
        await bot.session.close()


async def _register_commands(bot: Bot, settings: Settings) -> None:
    """Publish the command menu; also the first proof that the token and API URL work."""
    try:
        await bot.set_my_commands(BOT_COMMANDS)
    except TelegramUnauthorizedError:
        raise StartupError("the Telegram Bot API rejected BOT_TOKEN (unauthorized)") from None
    except TelegramAPIError as error:
        raise StartupError(
            f"the Telegram Bot API at {settings.telegram_api_url} failed: {type(error).__name__}"
        ) from None
