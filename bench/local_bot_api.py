"""A minimal Bot API on 127.0.0.1 for bot processes the bench starts: they reply over HTTP,
and Telegram's own API is neither reachable nor to be flooded from a benchmark.

`POST /bot<token>/<method>`: getMe answers a bot user, getWebhookInfo an empty backlog,
sendMessage a sent message, sendDocument (multipart/form-data, as Telegram takes it) a sent
message carrying the file, getUpdates long-polls the updates users `say` (as Telegram does: an
`offset` confirms every earlier update, and the unconfirmed ones come back, at most `limit` at
a time), anything else `true` (setMyCommands at start-up). It keeps the texts sent, so the
bench can tell replies from apologies, and the files sent.

Users are driven on this server's own loop (`run`): `say` sends a message (to getUpdates, or
to a webhook) and waits for the bot's next message to that chat.
"""

import asyncio
import collections
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiDictProxy

from bench.webhook_delivery import text_update
from infrastructure.embedded_mongo import free_loopback_port

T = TypeVar("T")
Deliver = Callable[[dict[str, Any]], Awaitable[object]]
"""Posts an update to a webhook until it is answered (`WebhookTelegram.deliver`)."""
MAX_UPDATES = 100
"""Telegram's most per getUpdates."""
HANG_SECONDS = 900.0
"""How long `run` waits for a job: far beyond any measurement, reached only by a hang (a bot
or the database gone, users waiting for replies that never come)."""


@dataclass(frozen=True)
class Reply:
    text: str
    seconds: float
    """From the user's message to the bot's reply."""


class LocalBotApi:
    """Runs on an event loop in a thread of its own, so the loop driving the bots cannot
    hold back their replies (as `LatencyProxy` does)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_loopback_port()
        self.replies: list[str] = []
        """Every sendMessage text, in arrival order."""
        self.polled = threading.Event()
        """Set by the first getUpdates: a polling bot is serving."""
        self.documents: list[tuple[str, bytes]] = []
        """Every sendDocument file, its name and content, in arrival order."""
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._updates: collections.deque[dict[str, Any]] = collections.deque()
        self._inboxes: dict[int, asyncio.Queue[str]] = {}
        self._loop = asyncio.new_event_loop()
        self._queued = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The TELEGRAM_API_URL for the bots."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalBotApi":
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            self.run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def run(
        self,
        job: Coroutine[Any, Any, T],
        timeout: float = HANG_SECONDS,
        check: Callable[[], None] | None = None,
    ) -> T:
        """Run `job` on this server's loop (where `say` must be awaited); its result, or
        TimeoutError after `timeout` seconds. `check`, called every second meanwhile, may
        raise to say why the job can never end (a bot process gone); the job is
        cancelled then too."""
        future = asyncio.run_coroutine_threadsafe(job, self._loop)
        deadline = time.monotonic() + timeout
        try:
            while True:
                # Waited on apart from `result`: a job's own TimeoutError is its failure, not
                # the wait's (taken for the wait, it was raised again and again, its
                # traceback growing by two frames each time until memory ran out).
                wait = min(1.0, max(0.0, deadline - time.monotonic()))
                if concurrent.futures.wait([future], wait).done:
                    return future.result()
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"a bench job took over {timeout:g} s")
                if check is not None:
                    check()
        except BaseException:
            future.cancel()
            raise

    async def say(self, user_id: int, text: str, deliver: Deliver | None = None) -> Reply:
        """`user_id` sends `text`; the bot's next message to them, and how long it took.
        Without `deliver` the message waits for getUpdates; with it, `deliver` posts it to
        a webhook, and this returns once it answered too, since Telegram sends a user's
        next update only then. (A message left over from an earlier step is dropped.)"""
        inbox = self._inboxes.setdefault(user_id, asyncio.Queue())
        while not inbox.empty():
            inbox.get_nowait()
        update = text_update(next(self._update_ids), user_id, text)
        started = time.perf_counter()
        if deliver is None:
            self._queue(update)
            return Reply(await inbox.get(), time.perf_counter() - started)
        delivery = asyncio.ensure_future(deliver(update))
        reply = Reply(await inbox.get(), time.perf_counter() - started)
        await delivery
        return reply

    async def send(self, user_id: int, text: str) -> None:
        """`user_id` sends `text` to getUpdates, waiting for nothing."""
        self._queue(text_update(next(self._update_ids), user_id, text))

    def _queue(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._queued.set()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:  # a misconfigured bench, not a guess
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        method = request.match_info["method"].lower()
        result: Any = True
        if method == "getme":
            bot_id = int(self.token.split(":", 1)[0])
            result = {"id": bot_id, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
        elif method == "getwebhookinfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        elif method in ("sendmessage", "senddocument"):
            params = await request.post()
            chat_id = int(str(params["chat_id"]))
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
            }
            if method == "sendmessage":
                text = str(params["text"])
                self.replies.append(text)
                self._inboxes.setdefault(chat_id, asyncio.Queue()).put_nowait(text)
                result["text"] = text
            else:
                result |= self._document(params)
        elif method == "getupdates":
            self.polled.set()
            params = await request.post()
            result = await self._get_updates(
                int(str(params.get("offset", 0))),
                int(str(params.get("limit", MAX_UPDATES))),
                float(str(params.get("timeout", 0))),
            )
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, offset: int, limit: int, wait: float) -> list[dict[str, Any]]:
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()  # confirmed: Telegram forgets it
        if not self._updates:
            self._queued.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._queued.wait()
        return list(itertools.islice(self._updates, min(limit, MAX_UPDATES)))

    def _document(self, params: MultiDictProxy[Any]) -> dict[str, Any]:
        """Keep the file (the `document` part, or the part its `attach://<name>` names)."""
        field = params.get("document")
        name = str(field).removeprefix("attach://")
        upload = field if isinstance(field, web.FileField) else params.get(name)
        if not isinstance(upload, web.FileField):
            return {}
        self.documents.append((upload.filename, upload.file.read()))
        caption = {"caption": str(params["caption"])} if "caption" in params else {}
        document = {"file_id": "f", "file_unique_id": "f", "file_name": upload.filename}
        return {"document": document} | caption
