import asyncio
import math
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from application.errors import StorageUnavailable
from presentation.bootstrap.metrics import Metrics
from presentation.entrypoints.health_endpoints import HealthEndpoints, Ping
from presentation.telegram.middlewares.update_log import UpdateRecord


async def answers() -> None:
    """MongoDB is there."""


async def is_down() -> None:
    raise StorageUnavailable("MongoDB call failed: ServerSelectionTimeoutError")


async def hangs() -> None:
    await asyncio.sleep(60)


ENDPOINTS = web.AppKey("endpoints", HealthEndpoints)
Client = TestClient[web.Request, web.Application]


async def client_for(ping: Ping, metrics: Metrics | None = None) -> Client:
    endpoints = HealthEndpoints(ping, metrics or Metrics(), timeout_seconds=0.2)
    app = web.Application()
    endpoints.add_to(app)
    app[ENDPOINTS] = endpoints
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.mark.parametrize(("ping", "status"), [(answers, 200), (is_down, 503), (hangs, 503)])
async def test_ready_means_mongodb_answered_in_time(ping: Ping, status: int) -> None:
    client = await client_for(ping)
    try:
        assert (await client.get("/health/ready")).status == status
        assert (await client.get("/health/live")).status == 200
    finally:
        await client.close()


async def test_a_draining_process_is_live_but_not_ready() -> None:
    client = await client_for(answers)
    try:
        assert client.app is not None
        client.app[ENDPOINTS].draining = True

        assert (await client.get("/health/ready")).status == 503
        assert (await client.get("/health/live")).status == 200
    finally:
        await client.close()


async def test_metrics_are_served_in_prometheus_text_format() -> None:
    metrics = Metrics()
    metrics.observe_update(UpdateRecord(kind="message", outcome="ok", seconds=0.01))
    client = await client_for(answers, metrics)
    try:
        response = await client.get("/metrics")
        text = await response.text()
    finally:
        await client.close()

    assert response.headers["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    [sample] = [s for s in families["profilebot_updates"].samples if s.name.endswith("_total")]
    assert (sample.labels, sample.value) == ({"type": "message", "outcome": "ok"}, 1.0)


async def test_metrics_are_gzipped_for_a_scraper_that_accepts_it() -> None:
    client = await client_for(answers)
    try:
        response = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        text = await response.text()  # aiohttp's client inflates it
    finally:
        await client.close()

    assert response.headers["Content-Encoding"] == "gzip"
    assert "profilebot_ready" in text


async def test_metrics_are_openmetrics_for_a_scraper_that_asks_for_it() -> None:
    client = await client_for(answers)
    try:
        response = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        text = await response.text()
    finally:
        await client.close()

    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")


def ready_value(text: str) -> float:
    families = {family.name: family for family in text_string_to_metric_families(text)}
    [sample] = families["profilebot_ready"].samples
    return sample.value


@pytest.mark.parametrize(("ping", "ready"), [(answers, 1.0), (is_down, 0.0), (hangs, 0.0)])
async def test_a_scrape_reports_the_readiness_check_the_one_before_it_started(
    ping: Ping, ready: float
) -> None:
    client = await client_for(ping)
    try:
        first = await (await client.get("/metrics")).text()
        await asyncio.sleep(0.5)  # past the check's 0.2 s time budget
        second = await (await client.get("/metrics")).text()
    finally:
        await client.close()

    assert math.isnan(ready_value(first))  # not checked yet
    assert ready_value(second) == ready


async def test_a_scrape_does_not_wait_for_a_ping_that_hangs() -> None:
    endpoints = HealthEndpoints(hangs, Metrics(), timeout_seconds=30)
    app = web.Application()
    endpoints.add_to(app)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        started = time.monotonic()
        for _ in range(3):
            assert (await client.get("/metrics")).status == 200
        seconds = time.monotonic() - started
    finally:
        await client.close()  # cancels the check still waiting

    assert seconds < 5


async def test_a_draining_process_scrapes_as_not_ready() -> None:
    client = await client_for(answers)
    try:
        assert client.app is not None
        client.app[ENDPOINTS].draining = True
        await client.get("/metrics")
        await asyncio.sleep(0.1)
        text = await (await client.get("/metrics")).text()
    finally:
        await client.close()

    assert ready_value(text) == 0.0
