import io
import logging

import pytest
from pymongo.errors import AutoReconnect

from presentation.bootstrap import logging_setup
from presentation.bootstrap.logging_setup import OneLineBackgroundErrors


def _logged_background_error() -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("test.pymongo.client")
    log.addHandler(handler)
    background = OneLineBackgroundErrors()
    log.addFilter(background)
    try:
        try:
            raise AutoReconnect("127.0.0.1:27017: connection closed")
        except AutoReconnect:
            log.exception("MongoClient background task encountered an error:")
    finally:
        log.removeHandler(handler)
        log.removeFilter(background)
    return stream.getvalue().splitlines()


def test_pymongos_background_errors_are_one_warning_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging_setup, "any_client_open", lambda: True)

    assert _logged_background_error() == [
        "WARNING test.pymongo.client: MongoDB background connection upkeep failed:"
        " AutoReconnect: 127.0.0.1:27017: connection closed"
    ]


def test_a_background_error_after_every_client_closed_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A closed client's thread may make one last attempt against a server stopping."""
    monkeypatch.setattr(logging_setup, "any_client_open", lambda: False)

    assert _logged_background_error() == []
