"""A small stand-in for the Telegram Bot API on 127.0.0.1, for driving the real bot process.

It speaks the HTTP protocol aiogram uses (`POST /bot<token>/<method>`), queues updates for
`getUpdates` long polling, and records every call, so tests can act as Telegram users. It
also keeps the messages the bot sent, with their buttons as edits leave them, so that a test
can press an inline button or read the reply keyboard as a user's client would show them,
and the files it sent (`sendDocument`, multipart/form-data as Telegram takes it), content
included.
"""

import asyncio
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bench.webhook_delivery import text_update
from infrastructure.embedded_mongo import free_loopback_port

BOT_ID = 4242
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
EDITS = ("editmessagereplymarkup", "editmessagetext")

NOT_FOUND = "Bad Request: message to edit not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


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


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, as it stands now: an edit replaces it."""

    message_id: int
    chat_id: int
    date: int
    text: str
    reply_markup: dict[str, Any] | None
    """As sent (parsed from its JSON): an inline keyboard, a reply keyboard or its removal."""
    inline_keyboard: list[list[dict[str, Any]]] | None
    """The inline buttons it carries now (Telegram's JSON); None once edited away."""
    edit_date: int | None = None

    @property
    def buttons(self) -> dict[str, str]:
        """The inline buttons it carries now: label → callback data."""
        rows = self.inline_keyboard or []
        return {b["text"]: b.get("callback_data", "") for row in rows for b in row}

    def as_json(self, chat: dict[str, Any]) -> dict[str, Any]:
        """The message as Telegram describes it (in a method's result or a callback query),
        in `chat`: only an inline keyboard is part of a message; a reply keyboard is not."""
        message: dict[str, Any] = {"message_id": self.message_id, "from": BOT_USER}
        message |= {"chat": chat, "date": self.date, "text": self.text}
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.inline_keyboard:
            message["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        return message


@dataclass(frozen=True)
class SentDocument:
    """A file the bot sent (`sendDocument`)."""

    message_id: int
    chat_id: int
    file_name: str
    content: bytes
    caption: str | None

    def as_json(self, chat: dict[str, Any]) -> dict[str, Any]:
        """The message that carries it, as Telegram describes it."""
        document: dict[str, Any] = {"file_id": f"doc{self.message_id}"}
        document["file_unique_id"] = f"d{self.message_id}"
        document |= {"file_name": self.file_name, "file_size": len(self.content)}
        message: dict[str, Any] = {"message_id": self.message_id, "from": BOT_USER}
        message |= {"chat": chat, "date": int(time.time()), "document": document}
        return message if self.caption is None else message | {"caption": self.caption}


class Rejected(Exception):
    """A call Telegram would answer with 400 Bad Request, and its description."""


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
        self._query_ids = itertools.count(7_000_001)
        self._messages: dict[int, SentMessage] = {}
        """What the bot sent, by message id (unique across chats here, unlike Telegram)."""
        self._documents: list[SentDocument] = []
        self._keyboards: dict[int, list[str]] = {}
        """Per chat, the reply keyboard's labels as the last message that set one left it."""
        self._names: dict[int, tuple[str, str | None]] = {}
        """Per user, the first and last name Telegram sends with their updates."""
        self._open_queries: set[str] = set()
        """Callback queries sent and not yet answered (Telegram takes one answer each)."""
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

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> int:
        """A private message from `user_id`, as Telegram would deliver it; its update id. A
        `first_name` (with `last_name`, or none) is the user's name on Telegram from now on,
        sent with this and later updates; without one, the name stays ("Tester" at first)."""
        with self._changed:
            if first_name is not None:
                self._names[user_id] = (first_name, last_name)
            update = text_update(next(self._update_ids), user_id, text)
            update["message"] |= {"from": self._user(user_id), "chat": self._chat(user_id)}
            self._queue(update)
            return int(update["update_id"])

    def press(
        self, user_id: int, label: str, *, message_id: int | None = None, data: str | None = None
    ) -> str:
        """`user_id` presses the inline button `label` under the latest message to them that
        carries one (or under message `message_id`); the callback query's id. `data`
        replaces the button's callback data, as a forging client could."""
        with self._changed:
            query = self._callback_query(user_id, label, message_id, data)
            self._queue(query)
            return str(query["callback_query"]["id"])

    def double_tap(self, user_id: int, label: str) -> tuple[str, str]:
        """Two presses of the same button, queued at once as an impatient tap sends them:
        the second is on its way before the bot has handled, or even fetched, the first,
        so it still finds the button there. The callback queries' ids."""
        with self._changed:  # a reentrant lock: the bot cannot fetch between the presses
            return self.press(user_id, label), self.press(user_id, label)

    def keyboard(self, user_id: int) -> list[str]:
        """The reply keyboard's labels that `user_id` has now ([] for none): as the last
        message to them that sent a reply keyboard, or removed it, left it."""
        with self._changed:
            return list(self._keyboards.get(user_id, []))

    def sent_messages(self, chat_id: int) -> list[SentMessage]:
        """The messages delivered to `chat_id`, oldest first, as edits have left them."""
        with self._changed:
            return [m for m in self._messages.values() if m.chat_id == chat_id]

    def message(self, chat_id: int, containing: str) -> SentMessage:
        """The latest message delivered to `chat_id` that contains `containing`."""
        found = [m for m in self.sent_messages(chat_id) if containing in m.text]
        assert found, f"no message containing {containing!r}: {self.sent_messages(chat_id)}"
        return found[-1]

    def documents_to(self, chat_id: int) -> list[SentDocument]:
        """The files delivered to `chat_id`, oldest first."""
        with self._changed:
            return [d for d in self._documents if d.chat_id == chat_id]

    def wait_for_document(self, chat_id: int, timeout: float = 60) -> SentDocument:
        """The first file delivered to `chat_id`, waiting for it."""
        self.wait_until(lambda: bool(self.documents_to(chat_id)), timeout)
        return self.documents_to(chat_id)[0]

    def answers_to(self, query_id: str) -> list[Call]:
        """The answerCallbackQuery calls for callback query `query_id`."""
        with self._changed:
            answers = self.calls_of("answerCallbackQuery")
            return [c for c in answers if c.params.get("callback_query_id") == query_id]

    def wait_for_answer(self, query_id: str, timeout: float = 60) -> Call:
        """The first answer to callback query `query_id`, waiting for it: the bot answers
        a pressed button last, so its step is over then."""
        self.wait_until(lambda: bool(self.answers_to(query_id)), timeout)
        return self.answers_to(query_id)[0]

    def edits_of(self, chat_id: int, message_id: int) -> list[Call]:
        """The editMessageReplyMarkup and editMessageText calls for that message."""
        with self._changed:
            return [
                c
                for c in self.calls
                if c.method in EDITS
                and c.params.get("chat_id") == str(chat_id)
                and c.params.get("message_id") == str(message_id)
            ]

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
        form = await request.post()
        params = {k: str(v) for k, v in form.items() if not isinstance(v, web.FileField)}
        files = {k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)}
        names = {k: v.filename for k, v in form.items() if isinstance(v, web.FileField)}
        with self._changed:
            planned = self._faults.get(method)
            fault = planned.pop(0) if planned else None
            self.calls.append(Call(method, params, fault, request.match_info.get("caller", "")))
            # Its effect (a message kept, a button taken away) is seen with the call, so a
            # test that waited for the call sees it, even while the answer is delayed or held.
            outcome: Any = None
            if fault is None and method == "senddocument":
                outcome = self._sent_document(params, files, names)
            elif fault is None:
                outcome = self._outcome(method, params)
            self._changed.notify_all()
        if fault is not None:
            return _faulty_answer(request, fault)
        if (held := self._held.get(method)) is not None:
            await held.wait()
        if method == "sendmessage":
            await asyncio.sleep(self.reply_delay)
        if method == "getupdates":
            outcome = await self._recorded_poll(request.match_info.get("caller", ""), params)
        if isinstance(outcome, Rejected):
            body = {"ok": False, "error_code": 400, "description": str(outcome)}
            return web.json_response(body, status=400)
        return web.json_response({"ok": True, "result": outcome})

    def _outcome(self, method: str, params: dict[str, str]) -> Any:
        """The result of a method, or how it is rejected; applied at once (called locked).
        None for getUpdates, which is answered later; True for methods not modelled here."""
        try:
            return self._answer(method, params)
        except Rejected as rejected:
            return rejected

    def _answer(self, method: str, params: dict[str, str]) -> Any:
        with self._changed:
            if method == "getupdates":
                return None
            if method == "getme":
                return BOT_USER
            if method == "sendmessage":
                return self._sent_message(params)
            if method == "answercallbackquery":
                if params.get("callback_query_id") not in self._open_queries:
                    raise Rejected(QUERY_INVALID)
                self._open_queries.discard(params["callback_query_id"])
                return True
            if method in EDITS:
                return self._edit(method, params)
            if method == "getwebhookinfo":  # for polling: the updates not yet fetched
                return {"url": "", "has_custom_certificate": False} | {
                    "pending_update_count": len(self._updates)
                }
            return True

    def _edit(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        """Change the message as Telegram does, the edited message its result. Without a
        `reply_markup`, either method takes the inline keyboard away."""
        message = self._messages.get(int(params.get("message_id", 0)))
        if message is None or params.get("chat_id") != str(message.chat_id):
            raise Rejected(NOT_FOUND)
        markup = json.loads(params.get("reply_markup", "{}"))
        text = params.get("text", message.text) if method == "editmessagetext" else message.text
        keyboard = markup.get("inline_keyboard") or None
        if (text, keyboard) == (message.text, message.inline_keyboard):
            raise Rejected(NOT_MODIFIED)
        edited = dataclasses.replace(
            message, text=text, inline_keyboard=keyboard, edit_date=int(time.time())
        )
        self._messages[message.message_id] = edited
        self._changed.notify_all()
        return edited.as_json(self._chat(message.chat_id))

    def _queue(self, update: dict[str, Any]) -> None:
        with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    def _callback_query(
        self, user_id: int, label: str, message_id: int | None, data: str | None
    ) -> dict[str, Any]:
        """A `callback_query` update for the button, as Telegram sends it (called locked)."""
        carrying = [
            m
            for m in self._messages.values()
            if m.chat_id == user_id and label in m.buttons and message_id in (None, m.message_id)
        ]
        assert carrying, f"no button {label!r} for {user_id}: {list(self._messages.values())}"
        message = carrying[-1]
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        query = {"id": query_id, "from": self._user(user_id), "chat_instance": f"ci{user_id}"}
        query |= {"message": message.as_json(self._chat(user_id))}
        query["data"] = message.buttons[label] if data is None else data
        return {"update_id": next(self._update_ids), "callback_query": query}

    def _user(self, user_id: int) -> dict[str, Any]:
        first, last = self._names.get(user_id, ("Tester", None))
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first}
        return user if last is None else user | {"last_name": last}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        """A private chat with the user `chat_id`: Telegram names it after them."""
        person = self._user(chat_id)
        return {"id": chat_id, "type": "private"} | {
            key: value for key, value in person.items() if key.endswith("_name")
        }

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
        """Keep the message, and the reply keyboard it sets for the chat, if any."""
        chat_id = int(params["chat_id"])
        markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
        with self._changed:
            message = SentMessage(
                message_id=next(self._message_ids),
                chat_id=chat_id,
                date=int(time.time()),
                text=str(params["text"]),
                reply_markup=markup,
                inline_keyboard=(markup or {}).get("inline_keyboard") or None,
            )
            self._messages[message.message_id] = message
            if markup is not None and "keyboard" in markup:
                self._keyboards[chat_id] = [_label(b) for row in markup["keyboard"] for b in row]
            elif markup is not None and markup.get("remove_keyboard"):
                self._keyboards[chat_id] = []
            self._changed.notify_all()
            return message.as_json(self._chat(chat_id))

    def _sent_document(
        self, params: dict[str, str], files: dict[str, bytes], names: dict[str, str]
    ) -> dict[str, Any] | Rejected:
        """Keep the file: uploaded as the `document` part itself, or as the part its
        `attach://<name>` names (as aiogram sends it). Called locked."""
        field = params.get("document", "document")
        part = field.removeprefix("attach://")
        if part not in files:
            return Rejected("Bad Request: there is no document in the request")
        sent = SentDocument(
            message_id=next(self._message_ids),
            chat_id=int(params["chat_id"]),
            file_name=names[part],
            content=files[part],
            caption=params.get("caption"),
        )
        self._documents.append(sent)
        self._changed.notify_all()
        return sent.as_json(self._chat(sent.chat_id))


def _label(button: str | dict[str, Any]) -> str:
    """A reply keyboard button is a label, or an object with one (`KeyboardButton`)."""
    return button if isinstance(button, str) else str(button["text"])


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
