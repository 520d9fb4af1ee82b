"""Polling's failed updates are handled again, for a while, each try with its own copy of the
middleware data (what inner middlewares put there is the try's own); a button press answered
"press again" (its conversation busy or lost) is not."""

import logging
from typing import Any

import pytest
from aiogram.types import CallbackQuery, TelegramObject, Update

from infrastructure.conversation.errors import ConversationBusy, ConversationLost
from presentation.telegram.middlewares.retry_failed import RetryFailedUpdates
from presentation.telegram.middlewares.update_log import UpdateLog, UpdateRecord, set_outcome
from tests.presentation.conftest import private_update

QUICK = {"first_delay_seconds": 0.01, "longest_delay_seconds": 0.02}


class Failing:
    """Fails the first `failures` tries, then answers; records what each try was given."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tries: list[dict[str, Any]] = []

    async def __call__(self, _event: TelegramObject, data: dict[str, Any]) -> str:
        self.tries.append(data)
        data["put by an inner middleware"] = len(self.tries)
        if len(self.tries) <= self.failures:
            raise RuntimeError(f"try {len(self.tries)} failed")
        return "handled"


async def test_an_update_that_failed_is_handled_again_until_it_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Failing(failures=2)
    retry = RetryFailedUpdates(retry_for_seconds=60, **QUICK)

    result = await retry(handler, private_update(5, 7, "Grace"), {"outer": True})

    assert result == "handled"
    assert len(handler.tries) == 3
    assert [try_ for try_ in handler.tries] == [
        {"outer": True, "put by an inner middleware": n} for n in (1, 2, 3)
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("update 5 failed (RuntimeError" in warning for warning in warnings)


async def test_an_update_that_keeps_failing_is_let_through_once_its_time_is_up() -> None:
    handler = Failing(failures=1_000)
    retry = RetryFailedUpdates(retry_for_seconds=0.1, **QUICK)

    with pytest.raises(RuntimeError):
        await retry(handler, private_update(5, 7, "Grace"), {})

    assert 2 <= len(handler.tries) < 1_000


def _press(update_id: int) -> Update:
    return Update(
        update_id=update_id,
        callback_query=CallbackQuery.model_validate(
            {"id": "q", "from": {"id": 7, "is_bot": False, "first_name": "A"}, "chat_instance": "c"}
        ),
    )


@pytest.mark.parametrize("told_to_press_again", [ConversationBusy, ConversationLost])
async def test_a_press_answered_press_again_is_not_tried_again(
    told_to_press_again: type[Exception],
) -> None:
    tries: list[int] = []

    async def busy(_event: TelegramObject, _data: dict[str, Any]) -> None:
        tries.append(1)
        raise told_to_press_again("held elsewhere")

    with pytest.raises(told_to_press_again):
        await RetryFailedUpdates(retry_for_seconds=60, **QUICK)(busy, _press(6), {})

    assert len(tries) == 1


async def test_a_press_that_failed_otherwise_is_tried_again() -> None:
    handler = Failing(failures=1)  # e.g. a deletion whose reply and apology were refused

    result = await RetryFailedUpdates(retry_for_seconds=60, **QUICK)(handler, _press(6), {})

    assert result == "handled"
    assert len(handler.tries) == 2


async def test_an_update_that_succeeds_when_tried_again_is_recorded_as_it_ended() -> None:
    records: list[UpdateRecord] = []
    tries: list[int] = []

    async def fails_once(_event: TelegramObject, data: dict[str, Any]) -> str:
        tries.append(1)
        if len(tries) == 1:
            set_outcome(data, "error:TelegramNetworkError")  # as the errors router notes it
            raise RuntimeError("the reply and its apology were refused")
        return "handled"

    retry = RetryFailedUpdates(retry_for_seconds=60, **QUICK)

    async def tried_again(event: TelegramObject, data: dict[str, Any]) -> Any:
        return await retry(fails_once, event, data)

    await UpdateLog([records.append])(tried_again, private_update(5, 7), {})

    assert [record.outcome for record in records] == ["ok"]
