"""Every reply fits in one Telegram message, whatever the user typed."""

from datetime import UTC, datetime

import pytest

from application.profile import UserProfile
from domain.user_name import MAX_NAME_LENGTH, NameProblem
from presentation.telegram import states, texts

NOW = datetime.now(UTC)
TELEGRAM_MESSAGE_LIMIT = 4096
LONGEST_NAME = "W" * MAX_NAME_LENGTH
LONGEST_MESSAGE = "/" + "a" * (TELEGRAM_MESSAGE_LIMIT - 1)
STATES = [None, *states.questions()]


@pytest.mark.parametrize(
    "reply",
    [
        texts.registered(LONGEST_NAME),
        texts.already_registered(LONGEST_NAME),
        texts.profile(
            UserProfile(
                user_id=1, name=LONGEST_NAME, registered_at=NOW, updated_at=NOW, language="en"
            )
        ),
        texts.ask_new_name(LONGEST_NAME),
        texts.renamed(LONGEST_NAME),
        texts.name_unchanged(LONGEST_NAME),
        texts.unknown_input(LONGEST_MESSAGE),
        texts.unknown_input(LONGEST_MESSAGE.replace("/", "x", 1)),
        *(texts.invalid_name(problem) for problem in NameProblem),
        *(states.cancelled(state) for state in STATES),
        *(states.with_reminder(texts.already_registered(LONGEST_NAME), s) for s in STATES),
    ],
)
def test_no_reply_exceeds_telegrams_message_limit(reply: str) -> None:
    assert 0 < len(reply) <= TELEGRAM_MESSAGE_LIMIT


def test_an_unknown_command_is_quoted_shortened() -> None:
    reply = texts.unknown_input(LONGEST_MESSAGE)

    assert "/aaaa" in reply
    assert "…" in reply
    assert len(reply) < 200
