"""Secrets never reach output: one scrubber for log lines and start-up errors alike."""

import io
import logging

import pytest

from infrastructure.mongo_client import create_mongo_client
from infrastructure.secrets import mongo_uri_secrets, redact
from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap.logging_setup import formatter_for

URI = "mongodb://bob:p%40ss%2Fw0rd@db.example:27017/?authSource=admin"


def test_a_uri_is_masked_whole_before_the_password_inside_it() -> None:
    text = f"connecting to {URI}; password p%40ss%2Fw0rd"

    assert redact(text, mongo_uri_secrets(URI)) == "connecting to ***; password ***"


def test_the_url_decoded_password_counts_as_a_secret_too() -> None:
    assert redact("auth failed for p@ss/w0rd", mongo_uri_secrets(URI)) == "auth failed for ***"


def test_a_uri_without_a_password_has_only_itself_to_hide() -> None:
    assert mongo_uri_secrets("mongodb://db.example") == ["mongodb://db.example"]


def test_settings_name_the_token_and_every_spelling_of_the_password() -> None:
    settings = Settings(_env_file=None, bot_token="123:SECRET_part", mongo_uri=URI)

    assert {"123:SECRET_part", URI, "p%40ss%2Fw0rd", "p@ss/w0rd"} <= set(settings.secrets())


def test_log_lines_and_their_tracebacks_are_scrubbed() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for("text", ["123:SECRET_part", "p@ss/w0rd"]))
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError("token 123:SECRET_part rejected")
        except RuntimeError:
            log.exception("login with p@ss/w0rd failed")
    finally:
        log.removeHandler(handler)

    output = stream.getvalue()
    assert "Traceback" in output
    assert "login with *** failed" in output
    assert "RuntimeError: token *** rejected" in output
    assert "SECRET" not in output
    assert "p@ss" not in output


def test_an_unusable_uri_is_reported_without_its_password_in_any_spelling() -> None:
    settings = Settings(_env_file=None)
    bad = "mongodb://bob:p%40ss@127.0.0.1:notaport"

    with pytest.raises(StartupError) as error:
        create_mongo_client(bad, settings)

    message = str(error.value)
    assert message.startswith("configuration error: MONGO_URI is not usable: ")
    assert "p%40ss" not in message
    assert "p@ss" not in message


def test_a_password_with_an_unencoded_slash_or_at_sign_counts_whole() -> None:
    uri = "mongodb://ada:2024/Summer@x!@db.example:27017/profilebot?authSource=admin"

    assert "2024/Summer@x!" in mongo_uri_secrets(uri)
    assert redact(f"MongoDB at {uri} failed", mongo_uri_secrets(uri)) == "MongoDB at *** failed"
