import io
import logging

from pymongo.errors import AutoReconnect

from presentation.bootstrap.logging_setup import OneLineBackgroundErrors


def test_pymongos_background_errors_are_one_warning_line_without_a_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("test.pymongo.client")
    log.addHandler(handler)
    log.addFilter(OneLineBackgroundErrors())
    try:
        try:
            raise AutoReconnect("127.0.0.1:27017: connection closed")
        except AutoReconnect:
            log.exception("MongoClient background task encountered an error:")
    finally:
        log.removeHandler(handler)

    assert stream.getvalue().splitlines() == [
        "WARNING test.pymongo.client: MongoDB background connection upkeep failed:"
        " AutoReconnect: 127.0.0.1:27017: connection closed"
    ]
