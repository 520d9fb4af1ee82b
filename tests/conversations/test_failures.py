"""Failures inside a use case: the user gets an apology and the conversation is kept.

These swap a use case through the container, as any test may, instead of breaking MongoDB.
"""

import logging

import pytest
from dependency_injector import providers

from application.errors import ProfileChangedMeanwhile, StorageUnavailable
from application.register_user import RegisterUserRequest
from application.show_profile import ShowProfileRequest
from presentation.telegram import texts
from presentation.telegram.states import Registration
from tests.conversations.conftest import BotUnderTest


class Unavailable:
    async def execute(self, request: RegisterUserRequest) -> None:
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")


class Broken:
    async def execute(self, request: ShowProfileRequest) -> None:
        raise RuntimeError("a bug")


async def test_a_storage_failure_is_an_apology_and_the_question_stays_open(
    bot: BotUnderTest,
) -> None:
    await bot.send("/start")

    with bot.container.register_user.override(providers.Object(Unavailable())):
        assert await bot.send("Ada") == [texts.storage_unavailable()]

    assert await bot.state_of() == Registration.waiting_for_name.state
    assert await bot.send("Ada") == [texts.registered("Ada")]


async def test_a_bug_is_an_apology_and_a_logged_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    with bot.container.show_profile.override(providers.Object(Broken())):
        assert await bot.send("/me") == [texts.unexpected_error()]

    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert "a bug" in str(record.exc_info[1])


class KeepsChanging:
    async def execute(self, request: RegisterUserRequest) -> None:
        raise ProfileChangedMeanwhile(request.user_id)


async def test_a_profile_changing_elsewhere_is_said_plainly_and_the_question_stays_open(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.send("/start")

    with bot.container.register_user.override(providers.Object(KeepsChanging())):
        assert await bot.send("Ada") == [texts.profile_changed_meanwhile()]

    assert await bot.state_of() == Registration.waiting_for_name.state
    assert "kept changing" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
