"""LOG_FORMAT: readable text or one JSON object per line, and in both the token, the MongoDB
password (in every spelling, and the URI holding it) and the webhook secret never appear,
not even inside an exception's text."""

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from aiogram.types import TelegramObject, Update

from bench.webhook_delivery import text_update
from infrastructure.settings import Settings
from presentation.bootstrap.logging_setup import log_handler
from presentation.telegram.middlewares.update_log import UpdateLog

TOKEN = "123456:SECRET-token_part"
WEBHOOK_SECRET = "hook-SECRET_value"
PASSWORD = 'p"ss\\w0rd!'  # a quote and a backslash: JSON spells them differently
ENCODED_PASSWORD = "p%22ss%5Cw0rd%21"
URI = f"mongodb://bob:{ENCODED_PASSWORD}@db.example:27017/?authSource=admin"
SECRETS = (TOKEN, WEBHOOK_SECRET, PASSWORD, ENCODED_PASSWORD, URI)


def settings_secrets() -> list[str]:
    settings = Settings(
        _env_file=None, bot_token=TOKEN, mongo_uri=URI, webhook_secret=WEBHOOK_SECRET
    )
    return settings.secrets()


@pytest.fixture
def output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the root logger writes in the format the test is parametrized with, at INFO."""
    stream = io.StringIO()
    handler = log_handler(stream, request.param, settings_secrets())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def log_everything_secret() -> None:
    log = logging.getLogger("test.log_format")
    log.warning("connecting to %s with token %s", URI, TOKEN, extra={"detail": f"at {URI}"})
    try:
        raise RuntimeError(f"auth failed: password {PASSWORD}, secret {WEBHOOK_SECRET}")
    except RuntimeError:
        log.exception("login failed; header was %s", WEBHOOK_SECRET)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


@pytest.mark.parametrize("output", ["text", "json"], indirect=True)
def test_no_secret_appears_in_either_format_even_in_an_exception(output: io.StringIO) -> None:
    log_everything_secret()

    written = output.getvalue()
    assert "Traceback" in written
    assert "***" in written
    for secret in SECRETS:
        assert secret not in written
        assert json.dumps(secret)[1:-1] not in written  # as JSON would escape it


@pytest.mark.parametrize("output", ["json"], indirect=True)
def test_no_secret_is_in_any_json_value_once_parsed(output: io.StringIO) -> None:
    log_everything_secret()

    values = [text for line in json_lines(output.getvalue()) for text in strings_in(line)]
    assert any("***" in text for text in values)
    assert [text for text in values if any(secret in text for secret in SECRETS)] == []


@pytest.mark.parametrize("output", ["json"], indirect=True)
def test_each_json_line_has_time_level_logger_message_and_the_exception(
    output: io.StringIO,
) -> None:
    log_everything_secret()

    warning, error = json_lines(output.getvalue())
    assert list(warning)[:4] == ["time", "level", "logger", "message"]
    assert datetime.fromisoformat(warning["time"]).utcoffset() is not None
    assert (warning["level"], warning["logger"]) == ("WARNING", "test.log_format")
    assert warning["message"] == "connecting to *** with token ***"
    assert warning["detail"] == "at ***"
    assert "exception" not in warning
    assert (error["level"], error["message"]) == ("ERROR", "login failed; header was ***")
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert error["exception"].endswith("RuntimeError: auth failed: password ***, secret ***")


async def handle_update(update_id: int, handler_logs: bool = True) -> None:
    """One update from user 42 through the update log (as aiogram hands it over, with its
    sender), its handler logging a line of its own; then a line after it."""

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        if handler_logs:
            logging.getLogger("test.handler").info("handling it")

    update = Update.model_validate(text_update(update_id, 42, "/start"))
    assert update.message is not None
    await UpdateLog()(handler, update, {"event_from_user": update.message.from_user})
    logging.getLogger("test.handler").info("after it")


@pytest.mark.parametrize("output", ["json"], indirect=True)
async def test_lines_carry_the_update_id_while_it_is_handled_and_its_line_the_outcome(
    output: io.StringIO,
) -> None:
    await handle_update(7)

    during, update_line, after = json_lines(output.getvalue())
    assert (during["logger"], during["update_id"]) == ("test.handler", 7)
    assert "outcome" not in during
    assert update_line["logger"] == "profilebot.updates"
    assert update_line["message"].startswith("update=7 type=message user=42 handler=- outcome=ok")
    assert {k: update_line[k] for k in ("update_id", "update_type", "user_id", "outcome")} == {
        "update_id": 7,
        "update_type": "message",
        "user_id": 42,
        "outcome": "ok",
    }
    assert isinstance(update_line["duration_ms"], float)
    assert "update_id" not in after


@pytest.mark.parametrize("output", ["text"], indirect=True)
async def test_the_text_format_is_the_readable_line_without_fields(output: io.StringIO) -> None:
    await handle_update(8, handler_logs=False)

    update_line, _after = output.getvalue().splitlines()
    assert " INFO profilebot.updates: update=8 type=message user=42 handler=- outcome=ok " in (
        update_line
    )
    assert "update_id" not in update_line
