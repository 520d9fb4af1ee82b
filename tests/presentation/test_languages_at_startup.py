"""What the bot publishes and checks about its languages when it starts."""

from pathlib import Path

import pytest
from aiogram.methods import SetMyCommands

from infrastructure.settings import Settings
from infrastructure.startup_error import StartupError
from presentation.bootstrap import lifecycle
from presentation.bootstrap.container import Container
from presentation.entrypoints.bot_startup import register_commands
from presentation.telegram import translation
from tests.presentation.conftest import RecordingBot


async def test_the_command_menu_is_registered_in_each_language(
    recording_bot: RecordingBot,
) -> None:
    await register_commands(recording_bot.bot, "http://127.0.0.1:1")

    menus = {
        call.language_code: [(c.command, c.description) for c in call.commands]
        for call in recording_bot.requests
        if isinstance(call, SetMyCommands)
    }
    assert set(menus) == {None, "ru"}  # English as the default, for every other language
    assert menus[None][0] == ("start", "Register")
    assert menus["ru"][0] == ("start", "Зарегистрироваться")
    assert [c for c, _ in menus[None]] == [c for c, _ in menus["ru"]]
    assert "language" in [c for c, _ in menus[None]]


def test_a_bot_whose_catalogues_were_not_compiled_does_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As after a checkout that was never installed: the source is there, not the
    compiled catalogue (which aiogram would refuse to load, raising instead)."""
    source = translation.LOCALES / "ru" / "LC_MESSAGES" / "messages.po"
    uncompiled = tmp_path / "ru" / "LC_MESSAGES"
    uncompiled.mkdir(parents=True)
    (uncompiled / "messages.po").write_bytes(source.read_bytes())
    monkeypatch.setattr(translation, "LOCALES", tmp_path)

    with pytest.raises(StartupError, match=r"translations for ru are not compiled"):
        lifecycle.start(Container(settings=Settings(_env_file=None)))
