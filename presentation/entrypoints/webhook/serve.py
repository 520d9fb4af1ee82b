"""`profilebot webhook`: Telegram POSTs each update to WEBHOOK_PATH, and this process answers
200 only once the update was handled, so Telegram delivers again whatever was not (after a
crash, a 500, a timeout). Health and metrics are served on the same port.

Replies always go out through the Bot API, never in the webhook's answer: that answer is
not checked by Telegram, so a reply in it could be lost without anyone knowing, and it
would be sent before the conversation was written. This is why `Dispatcher.feed_update`
is used rather than aiogram's webhook helpers.

The process never calls setWebhook or deleteWebhook by itself: several replicas share one
webhook, and one of them starting or stopping must not change it for the others (see
`profilebot set-webhook`).
"""

import asyncio
import hmac
import json
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.entrypoints.bot_startup import health_endpoints, register_commands
from presentation.entrypoints.health_endpoints import HealthEndpoints
from presentation.entrypoints.interruption import (
    STOP_SIGNALS,
    Interrupted,
    stop_signals_cancel_this_task,
)
from presentation.entrypoints.telegram_backlog import watching_telegram_backlog
from presentation.telegram.middlewares.in_flight import InFlight

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024
"""Far above any update Telegram sends (a message's text is at most 4096 characters)."""
ANSWER_SECONDS = 1.0
"""At shutdown, how long requests that have finished get to have their answers written."""


class WebhookReceiver:
    """The POST handler of WEBHOOK_PATH: the secret checked first, then the body, then the
    update handled, and 200 only after that. Counts its requests, so shutdown can wait."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._secret = secret.encode()
        self.in_flight = InFlight()
        """Requests in progress, so shutdown can wait for them."""
        self.draining = False
        """Set when the process stops taking work: new requests are answered 503."""

    async def handle(self, request: web.Request) -> web.Response:
        async with self.in_flight.tracking():
            return await self._answer(request)

    async def _answer(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)  # before anything else: a stranger learns nothing
        if self.draining:
            return web.Response(status=503)  # Telegram delivers it again, to whoever serves
        if request.content_type != "application/json":
            return web.Response(status=415)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("webhook request rejected: body over %d bytes", MAX_BODY_BYTES)
            return web.Response(status=413)
        update = self._parse(body)
        if update is None:
            return web.Response(status=400)
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception:
            log.exception(
                "update %d failed; answered 500 for Telegram to deliver it again", update.update_id
            )
            return web.Response(status=500)
        return web.Response()

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return False
        # aiohttp decodes header bytes with surrogateescape; this gives back the bytes sent.
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret)

    def _parse(self, body: bytes) -> Update | None:
        """The update, or None after one warning line that holds nothing of the body (it
        is a user's message, or something an attacker wants in the log)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
            log.warning("webhook request rejected: the body is not JSON")
            return None
        try:
            return Update.model_validate(data, context={"bot": self._bot})
        except ValidationError as error:
            log.warning(
                "webhook request rejected: the body is not a Telegram update (%d problem(s))",
                error.error_count(),
            )
            return None


async def run_webhook(container: Container) -> None:
    """Serve the webhook until SIGINT/SIGTERM, then drain: not ready, not listening, the
    requests in progress finished (up to SHUTDOWN_GRACE_SECONDS), the server cleaned up,
    and only then the Bot API session closed, as the last replies go out through it.

    The container must be started (`presentation.bootstrap.lifecycle`). A signal while the
    command menu is published or the port is opened (start-up still) raises `Interrupted`.
    """
    settings = container.settings()
    if settings.webhook_secret is None:
        raise StartupError("configuration error: WEBHOOK_SECRET is not set")
    dispatcher = container.dispatcher()
    health = health_endpoints(container)
    async with container.bot() as bot:
        receiver = WebhookReceiver(dispatcher, bot, settings.webhook_secret.get_secret_value())
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(settings.webhook_path, receiver.handle)
        health.add_to(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=ANSWER_SECONDS)
        await runner.setup()
        try:
            with stop_signals_cancel_this_task() as start_up:
                await register_commands(bot, settings.telegram_api_url)
                await _listen(runner, settings.webhook_host, settings.webhook_port)
            if start_up.signum is not None:
                raise Interrupted(start_up.signum)
            stop = _stop_on_signals()
            host = _url_host(settings.webhook_host)
            log.info(
                "webhook listening on http://%s:%d%s",
                host,
                settings.webhook_port,
                settings.webhook_path,
            )
            async with watching_telegram_backlog(bot, container.metrics()):
                await stop.wait()
            await _drain(runner, receiver, health, settings.shutdown_grace_seconds)
        finally:
            await runner.cleanup()
    log.info("webhook stopped")


async def _listen(runner: web.AppRunner, host: str, port: int) -> None:
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        raise StartupError(
            f"cannot serve the webhook on {host}:{port} ({error.strerror or error})"
        ) from None


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM from now on. The handlers replace start-up's and
    stay until the loop closes, so a second signal during the drain changes nothing."""
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _drain(
    runner: web.AppRunner,
    receiver: WebhookReceiver,
    health: HealthEndpoints,
    grace_seconds: float,
) -> None:
    """Stop taking work, then wait for the requests in progress. Requests arriving on a
    connection that is already open get 503, and Telegram delivers them again."""
    health.draining = receiver.draining = True
    for site in list(runner.sites):
        await site.stop()  # no new connections
    log.info(
        "webhook stopped listening; waiting for %d request(s) in progress",
        receiver.in_flight.count,
    )
    if not await receiver.in_flight.wait_idle(grace_seconds):
        log.warning(
            "%d request(s) still in progress after %g s; shutting down anyway",
            receiver.in_flight.count,
            grace_seconds,
        )


def _url_host(host: str) -> str:
    """`host` as written in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
