"""`profilebot set-webhook` and `delete-webhook`: tell Telegram where to deliver updates,
once, from an operator or a deploy step, never from a replica starting or stopping.

Neither needs MongoDB: the updates the bot uses are read off its routers, not off a
dispatcher built over the storage (resolving that would connect to MongoDB, or start an
embedded server).
"""

from aiogram import Dispatcher
from aiogram.exceptions import TelegramBadRequest

from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.entrypoints.bot_startup import bot_api_errors_are_startup_errors
from presentation.telegram.handlers import build_router


def used_update_types() -> list[str]:
    """The update types the bot's handlers take: Telegram sends only these (`allowed_updates`),
    so nothing the bot would ignore costs a request."""
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    return dispatcher.resolve_used_update_types()


async def set_webhook(
    container: Container, url: str, max_connections: int | None, drop_pending: bool
) -> str:
    """Register `url` (checked by the caller) with the secret and the updates the bot uses;
    returns a one-line confirmation without the secret. `max_connections` defaults to
    WEBHOOK_MAX_CONNECTIONS."""
    settings = container.settings()
    if settings.webhook_secret is None:
        raise StartupError("configuration error: WEBHOOK_SECRET is not set")
    connections = max_connections or settings.webhook_max_connections
    allowed = used_update_types()
    async with container.bot() as bot:
        with bot_api_errors_are_startup_errors(settings.telegram_api_url):
            try:
                await bot.set_webhook(
                    url,
                    secret_token=settings.webhook_secret.get_secret_value(),
                    allowed_updates=allowed,
                    max_connections=connections,
                    drop_pending_updates=drop_pending,
                )
            except TelegramBadRequest as error:
                # Telegram says what it disliked (the port, the certificate...); no secret.
                raise StartupError(f"Telegram refused the webhook: {error.message}") from None
    pending = "dropped" if drop_pending else "kept"
    return (
        f"webhook set: {url} (up to {connections} connections; updates: {', '.join(allowed)};"
        f" pending updates {pending})"
    )


async def delete_webhook(container: Container, drop_pending: bool) -> str:
    """Remove the webhook, so that `profilebot polling` may fetch updates again; returns a
    one-line confirmation."""
    settings = container.settings()
    async with container.bot() as bot:
        with bot_api_errors_are_startup_errors(settings.telegram_api_url):
            await bot.delete_webhook(drop_pending_updates=drop_pending)
    pending = "dropped" if drop_pending else "kept"
    return f"webhook deleted (pending updates {pending})"
