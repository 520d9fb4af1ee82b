"""The metrics the alerts in deploy/prometheus/alerts.yml read, as a process exports them."""

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.methods import GetWebhookInfo, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import WebhookInfo
from prometheus_client.parser import text_string_to_metric_families

from presentation.bootstrap.metrics import LEASES, Metrics
from presentation.entrypoints.telegram_backlog import watching_telegram_backlog
from presentation.entrypoints.terminal.local_session import LocalBotSession


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_every_lease_kind_is_exported_from_zero_so_its_first_loss_is_an_increase() -> None:
    exported = samples(Metrics())

    assert {
        lease: exported[("profilebot_leases_lost_total", (("lease", lease),))] for lease in LEASES
    } == dict.fromkeys(LEASES, 0.0)


def test_only_a_process_that_polls_or_stands_by_exports_the_poller_gauge() -> None:
    metrics = Metrics()
    assert not [name for name, _labels in samples(metrics) if name == "profilebot_poller_active"]

    metrics.set_poller_active(False)
    metrics.set_poller_active(True)

    assert samples(metrics)[("profilebot_poller_active", ())] == 1.0


class Backlog(LocalBotSession):
    """Telegram holding `pending` updates for the bot."""

    def __init__(self, pending: int) -> None:
        super().__init__(on_request=lambda method: None)
        self.pending = pending

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - the base class fixes the signature
    ) -> TelegramType:
        if isinstance(method, GetWebhookInfo):
            info: Any = WebhookInfo(
                url="https://bot.example/hook",
                has_custom_certificate=False,
                pending_update_count=self.pending,
            )
            return info  # type: ignore[no-any-return]
        return await super().make_request(bot, method, timeout)


async def test_the_backlog_telegram_reports_is_exported_and_followed() -> None:
    session = Backlog(pending=17)
    metrics = Metrics()
    pending = ("profilebot_telegram_pending_updates", ())
    bot = Bot("42:backlog", session=session)
    async with watching_telegram_backlog(bot, metrics, every=0.01):
        await asyncio.sleep(0.05)
        assert samples(metrics)[pending] == 17.0
        session.pending = 0
        await asyncio.sleep(0.05)

    assert samples(metrics)[pending] == 0.0
