"""The bench's Bot API stand-in answers getUpdates as Telegram does, and hands each user the
bot's reply."""

import json
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.local_bot_api import LocalBotApi

TOKEN = "1:token"


def call(api: LocalBotApi, method: str, **params: object) -> Any:
    request = urllib.request.Request(  # a form, as aiogram sends
        f"{api.url}/bot{TOKEN}/{method}", data=urllib.parse.urlencode(params).encode()
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["result"]


def ids(updates: list[dict[str, Any]]) -> list[int]:
    return [u["update_id"] for u in updates]


def test_updates_stay_until_an_offset_confirms_them() -> None:
    with LocalBotApi(TOKEN) as api:
        for user in (1, 2, 3):
            api.run(api.send(user, "/start"))

        first = call(api, "getUpdates", timeout=0)
        again = call(api, "getUpdates", offset=first[1]["update_id"], timeout=0)

    assert [u["message"]["chat"]["id"] for u in first] == [1, 2, 3]
    assert ids(again) == ids(first)[1:]


def test_a_long_poll_is_answered_once_a_user_speaks() -> None:
    with LocalBotApi(TOKEN) as api, ThreadPoolExecutor(1) as other:
        polling = other.submit(call, api, "getUpdates", timeout=30)
        api.run(api.send(1, "/help"))

        updates = polling.result(timeout=20)  # long before the poll's 30 s

    assert [u["message"]["text"] for u in updates] == ["/help"]


def test_a_user_hears_the_bots_next_message_to_them() -> None:
    with LocalBotApi(TOKEN) as api, ThreadPoolExecutor(1) as other:
        saying = other.submit(api.run, api.say(1, "/help"), 20)
        call(api, "getUpdates", timeout=30)  # the bot fetches the message, then answers
        call(api, "sendMessage", chat_id=2, text="not to you")
        call(api, "sendMessage", chat_id=1, text="Help!")

        reply = saying.result(timeout=20)

    assert reply.text == "Help!"
    assert api.replies == ["not to you", "Help!"]
