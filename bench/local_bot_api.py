"""A minimal Bot API on 127.0.0.1 for bot processes the bench starts: they reply over HTTP,
and Telegram's own API is neither reachable nor to be flooded from a benchmark.

`POST /bot<token>/<method>`: getMe answers a bot user, getWebhookInfo an empty backlog,
sendMessage a sent message, sendDocument (multipart/form-data, as Telegram takes it) a sent
message carrying the file, anything else `true` (setMyCommands at start-up). It keeps the
texts sent, so the bench can tell replies from apologies, and the files sent.
"""

import asyncio
import itertools
import threading
import time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from infrastructure.embedded_mongo import free_loopback_port


class LocalBotApi:
    """Runs on an event loop in a thread of its own, so the loop driving the bots cannot
    hold back their replies (as `LatencyProxy` does)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_loopback_port()
        self.replies: list[str] = []
        """Every sendMessage text, in arrival order."""
        self.documents: list[tuple[str, bytes]] = []
        """Every sendDocument file, its name and content, in arrival order."""
        self._message_ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The TELEGRAM_API_URL for the bots."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalBotApi":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

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
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(str(params["chat_id"])), "type": "private"},
            }
            if method == "sendmessage":
                self.replies.append(str(params["text"]))
                result["text"] = str(params["text"])
            else:
                result |= self._document(params)
        return web.json_response({"ok": True, "result": result})

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
