"""`/health/live`, `/health/ready` and `/metrics` over HTTP, for an orchestrator and for
Prometheus: on the webhook server, or on `HTTP_PORT` beside polling.

Live means the process serves HTTP at all. Ready means it should be sent work: MongoDB
answered a ping within the operation time budget and the process is not draining.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from application.errors import StorageUnavailable
from presentation.bootstrap.metrics import Metrics

log = logging.getLogger(__name__)

Ping = Callable[[], Awaitable[None]]


class HealthEndpoints:
    def __init__(self, ping: Ping, metrics: Metrics, timeout_seconds: float) -> None:
        self._ping = ping
        self._metrics = metrics
        self._timeout = timeout_seconds
        self._exposition = make_aiohttp_handler(metrics.registry)
        """prometheus_client's own: the text or OpenMetrics format as the scraper accepts,
        gzip when it asks for it, `name[]` to pick metrics."""
        self._scrape_check: asyncio.Task[str | None] | None = None
        self.draining = False
        """Set when the process stops taking work (a stop signal arrived)."""

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/health/live", self.live)
        app.router.add_get("/health/ready", self.ready)
        app.router.add_get("/metrics", self.metrics)
        app.on_cleanup.append(self._stop_checking)

    async def live(self, request: web.Request) -> web.Response:
        return web.Response(text="live\n")

    async def ready(self, request: web.Request) -> web.Response:
        problem = await self._readiness_problem()
        if problem is not None:
            return web.Response(status=503, text=f"{problem}\n")
        return web.Response(text="ready\n")

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """The metrics at once, `profilebot_ready` as the last check found it; each scrape
        starts the next check. Awaiting it would make a scrape as slow as a failing ping
        (up to the operation timeout), and a scrape that times out reports nothing."""
        if self._scrape_check is None or self._scrape_check.done():
            self._scrape_check = asyncio.create_task(self._readiness_problem())
        return await self._exposition(request)

    async def _stop_checking(self, app: web.Application) -> None:
        if self._scrape_check is not None:
            self._scrape_check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scrape_check

    async def _readiness_problem(self) -> str | None:
        """Why the process should not be sent work, or None; `profilebot_ready` follows."""
        problem = None
        if self.draining:
            problem = "draining"
        else:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._ping()
            except (StorageUnavailable, TimeoutError) as error:
                log.warning("not ready: MongoDB did not answer a ping (%s)", type(error).__name__)
                problem = "MongoDB unavailable"
        self._metrics.set_ready(problem is None)
        return problem


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller cleans the returned runner up."""
    runner = web.AppRunner(app, access_log=None)  # no per-request lines: scrapes are frequent
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:  # the port taken, or start-up cancelled by a signal
        await runner.cleanup()
        raise
    log.info("health and metrics on http://%s:%d", host, port)
    return runner
