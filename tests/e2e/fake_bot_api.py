"""A small stand-in for the Telegram Bot API on 127.0.0.1, for driving the real bot process.

It speaks the HTTP protocol aiogram uses (`POST /bot<token>/<method>`), queues updates for
`getUpdates` long polling, and records every call, so tests can act as Telegram users.
"""

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bench.webhook_delivery import text_update
from infrastructure.embedded_mongo import free_loopback_port

BOT_ID = 4242


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    fault: str | None = None
    """The fault injected instead of an answer, if any."""
    caller: str = ""
    """The path prefix the call came through (see `FakeBotApi.url_for`), "" for `url`."""


@dataclass(frozen=True)
class Poll:
    """One getUpdates as this server ran it: from its arrival to its answer (or to the
    caller hanging up), in `time.monotonic()` seconds."""

    caller: str
    started: float
    ended: float


FAULTS = ("429", "500", "drop")


class FakeBotApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_loopback_port()
        self.calls: list[Call] = []
        self.polls: list[Poll] = []
        self.max_poll_seconds = 2.0
        """Longest a getUpdates long poll is held; raise it to honour every `timeout` asked
        for, as Telegram does."""
        self.reply_delay = 0.0
        """Seconds `sendMessage` takes to answer, to keep an update in progress."""
        self._faults: dict[str, list[str]] = {}
        self._held: dict[str, asyncio.Event] = {}
        """Methods whose calls wait, unanswered, until released (touched in the loop only)."""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, caller: str) -> str:
        """A TELEGRAM_API_URL for the same bot whose calls are recorded as `caller`'s, to
        tell several bot processes apart."""
        return f"{self.url}/{caller}"

    def __enter__(self) -> "FakeBotApi":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        for method in list(self._held):
            self.release(method)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def send_text(self, user_id: int, text: str) -> None:
        """A private message from `user_id`, as Telegram would deliver it."""
        update = text_update(next(self._update_ids), user_id, text)
        with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    def send_text_and_wait_until_taken(self, user_id: int, text: str) -> None:
        """Send a message, and return once the bot has fetched it and asked for updates
        again (an update still being handled is not confirmed, so that call fetches it
        again; one more call covers a bot that was between two calls when it was sent)."""
        fetches = len(self.calls_of("getUpdates"))
        self.send_text(user_id, text)
        self.wait_until(lambda: len(self.calls_of("getUpdates")) > fetches + 1)

    def fail_next(self, method: str, *faults: str) -> None:
        """Answer the next calls of `method` with these faults, in order: "429" (with
        `retry_after` 1), "500", or "drop" (the connection is closed without an answer)."""
        assert set(faults) <= set(FAULTS), faults
        with self._changed:
            self._faults.setdefault(method.lower(), []).extend(faults)

    def hold(self, method: str) -> None:
        """Leave calls of `method` unanswered, as a hung Bot API would, until `release`
        (at the latest when the fake stops)."""

        async def hold() -> None:
            self._held.setdefault(method.lower(), asyncio.Event())

        asyncio.run_coroutine_threadsafe(hold(), self._loop).result(10)

    def release(self, method: str) -> None:
        """Answer the held calls of `method`, and later ones at once."""

        async def release() -> None:
            if (held := self._held.pop(method.lower(), None)) is not None:
                held.set()

        asyncio.run_coroutine_threadsafe(release(), self._loop).result(10)

    def replies_to(self, chat_id: int) -> list[str]:
        """The texts delivered to `chat_id` (calls answered with a fault are not)."""
        with self._changed:
            return [
                str(c.params["text"])
                for c in self.calls
                if c.method == "sendmessage"
                and c.fault is None
                and int(c.params["chat_id"]) == chat_id
            ]

    def calls_of(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method.lower()]

    def wait_for_reply(self, chat_id: int, containing: str, timeout: float = 60) -> str:
        """The first reply to `chat_id` that contains `containing`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for text in self.replies_to(chat_id):
                    if containing in text:
                        return text
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no reply containing {containing!r}; got {self.replies_to(chat_id)}"
                    )
                self._changed.wait(remaining)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60) -> None:
        """Wait until `condition()` holds; it is checked after every Bot API call."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("timed out waiting for the bot")
                self._changed.wait(remaining)

    def wait_for_call(self, method: str, timeout: float = 60) -> Call:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (found := [c for c in self.calls if c.method == method.lower()]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{method} was never called; calls: {self.calls}")
                self._changed.wait(remaining)
            return found[0]

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_post("/{caller}/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"].lower()
        params = {key: str(value) for key, value in (await request.post()).items()}
        with self._changed:
            planned = self._faults.get(method)
            fault = planned.pop(0) if planned else None
            self.calls.append(Call(method, params, fault, request.match_info.get("caller", "")))
            self._changed.notify_all()
        if fault is not None:
            return _faulty_answer(request, fault)
        if (held := self._held.get(method)) is not None:
            await held.wait()
        if method == "getupdates":
            result: Any = await self._recorded_poll(request.match_info.get("caller", ""), params)
        elif method == "getme":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
        elif method == "sendmessage":
            await asyncio.sleep(self.reply_delay)
            result = self._sent_message(params)
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    async def _recorded_poll(self, caller: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        started = time.monotonic()
        try:
            return await self._get_updates(params)
        finally:
            with self._changed:
                self.polls.append(Poll(caller, started, time.monotonic()))
                self._changed.notify_all()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), self.max_poll_seconds)
        while True:
            with self._changed:
                # As Telegram does: an offset confirms, and forgets, every earlier update.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return self._updates[:100]  # Telegram's most per call
            await asyncio.sleep(0.02)

    def _sent_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": int(params["chat_id"]), "type": "private"}
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "text": params["text"],
        }


def _faulty_answer(request: web.Request, fault: str) -> web.Response:
    if fault == "429":
        body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
        return web.json_response(body | {"parameters": {"retry_after": 1}}, status=429)
    if fault == "500":
        body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return web.json_response(body, status=500)
    assert request.transport is not None
    request.transport.close()  # "drop": the client sees the connection reset, no answer
    return web.Response()
