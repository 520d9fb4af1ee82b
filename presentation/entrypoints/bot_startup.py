"""What every front end that talks to Telegram does the same way at start-up: publish the
command menu, build the health endpoints, and turn Bot API failures into one printable line.

Polling and the webhook server share these, so that a rejected token or an unreachable
Bot API reads the same whichever way the bot receives its updates.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.entrypoints.health_endpoints import HealthEndpoints
from presentation.telegram.commands import menus


async def register_commands(bot: Bot, api_url: str) -> None:
    """Publish the command menu in each language; also the first proof that the token and
    API URL work."""
    with bot_api_errors_are_startup_errors(api_url):
        for language_code, commands in menus().items():
            await bot.set_my_commands(commands, language_code=language_code)


@contextmanager
def bot_api_errors_are_startup_errors(api_url: str) -> Iterator[None]:
    """A Bot API call that fails raises `StartupError` naming the kind of failure, never
    the token (which is part of every request URL aiogram puts in its messages)."""
    try:
        yield
    except TelegramUnauthorizedError:
        raise StartupError("the Telegram Bot API rejected BOT_TOKEN (unauthorized)") from None
    except TelegramAPIError as error:
        raise StartupError(
            f"the Telegram Bot API at {api_url} failed: {type(error).__name__}"
        ) from None


def health_endpoints(container: Container) -> HealthEndpoints:
    """`/health/*` and `/metrics` over the container's storage ping and metrics; ready
    means MongoDB answered within one operation's time budget."""
    return HealthEndpoints(
        container.storage.ping(),
        container.metrics(),
        timeout_seconds=container.settings().mongo_operation_timeout_seconds,
    )
