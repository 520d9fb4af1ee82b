"""A stand-in for Telegram delivering updates to webhook processes behind a load balancer.

Like Telegram, it sends one chat's next update only once the previous one was answered,
and delivers an update again when the answer is not a 2xx, the connection drops or the
answer takes too long; like a load balancer, it picks a process at random for every
attempt. It records every attempt, so tests can tell which process answered what.
"""

import asyncio
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Attempt:
    update_id: int
    endpoint: int
    """Index of the process the attempt went to."""
    started: float
    """`time.monotonic()` when it was sent."""
    ended: float
    status: int | None
    """The HTTP status, or None when the connection failed or the answer timed out."""


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private text message from `user_id`, as JSON Telegram sends it (by `getUpdates`, or
    to a webhook), a leading command marked as Telegram marks it."""
    chat = {"id": user_id, "type": "private", "first_name": "Tester"}
    sender = {"id": user_id, "is_bot": False, "first_name": "Tester"}
    message: dict[str, Any] = {"message_id": update_id, "date": int(time.time()), "chat": chat}
    message |= {"from": sender, "text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


@dataclass
class WebhookTelegram:
    endpoints: Sequence[str]
    """The processes' webhook URLs."""
    secret: str
    answer_timeout: float = 30.0
    retry_delay: float = 0.2
    attempts: list[Attempt] = field(default_factory=list)
    first_update_id: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(self.first_update_id)

    async def __aenter__(self) -> "WebhookTelegram":
        # One connection per request: a load balancer's connection to a dead process is
        # not reused for the next attempt.
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def converse(self, user_id: int, texts: Sequence[str]) -> list[int]:
        """Send `texts` as `user_id`, each once the previous one was answered; their ids."""
        sent = []
        for text in texts:
            update = text_update(self.next_update_id(), user_id, text)
            await self.deliver(update)
            sent.append(update["update_id"])
        return sent

    async def deliver(self, update: dict[str, Any], endpoint: int | None = None) -> Attempt:
        """Post `update` until a process answers 2xx; the successful attempt. `endpoint`
        fixes the first attempt's process; retries go anywhere."""
        while True:
            target = self.rng.randrange(len(self.endpoints)) if endpoint is None else endpoint
            endpoint = None
            attempt = await self._post(target, update)
            self.attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                return attempt
            await asyncio.sleep(self.retry_delay)

    async def _post(self, endpoint: int, update: dict[str, Any]) -> Attempt:
        assert self._session is not None, "use `async with`"
        started = time.monotonic()
        status: int | None = None
        try:
            async with self._session.post(
                self.endpoints[endpoint],
                json=update,
                headers={SECRET_HEADER: self.secret},
                timeout=aiohttp.ClientTimeout(total=self.answer_timeout),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = None
        return Attempt(update["update_id"], endpoint, started, time.monotonic(), status)
