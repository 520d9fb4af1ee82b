from collections.abc import Iterator

import pytest

from infrastructure.mongo_executor import MongoExecutor


@pytest.fixture
def executor() -> Iterator[MongoExecutor]:
    executor = MongoExecutor(max_workers=8, timeout_seconds=3)
    yield executor
    executor.shutdown()
