from collections.abc import Iterator

import pytest

from tests.e2e.fake_bot_api import FakeBotApi

BOT_TOKEN = "4242:e2e-SECRET-token"


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(BOT_TOKEN) as api:
        yield api
