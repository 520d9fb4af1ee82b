"""The `profilebot` command's arguments and configuration errors, in-process: one line on
stderr and exit code 2, before anything slow is imported or started."""

import argparse
import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from presentation.entrypoints.cli import _parser, main

SETTINGS = ("BOT_TOKEN", "MONGO_URI", "LOG_LEVEL", "LOG_FORMAT", "TELEGRAM_API_URL", "MONGO_DB")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's variables or .env file."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["serve"], "invalid choice: 'serve'"),
        (["chat", "--user-id", "0"], "expected a positive whole number, got '0'"),
        (["chat", "--user-id", "-3"], "expected a positive whole number, got '-3'"),
        (["run", "--user-id", "ada"], "expected a positive whole number, got 'ada'"),
        (["polling", "--user-id", "3"], "unrecognized arguments: --user-id 3"),
        (["migrate", "--batch-size", "0"], "expected a positive whole number, got '0'"),
        (["migrate", "--user-id", "3"], "unrecognized arguments: --user-id 3"),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_line_naming_the_problem(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: profilebot")
    assert complaint in captured.err


def test_a_bad_setting_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONGO_URI", "postgres://bob:hunter2@db")

    assert main(["chat"]) == 2

    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "profilebot: configuration error: MONGO_URI: must start with mongodb:// or mongodb+srv://"
    ]
    assert "hunter2" not in captured.err + captured.out


def test_an_unknown_log_format_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")

    assert main(["chat"]) == 2

    assert capsys.readouterr().err.splitlines() == [
        "profilebot: configuration error: LOG_FORMAT: Input should be 'text' or 'json'"
    ]


def test_polling_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["polling"]) == 2

    assert capsys.readouterr().err.splitlines() == [
        "profilebot: configuration error: BOT_TOKEN is not set; polling needs a bot token"
    ]


def test_version_is_pyprojects_as_installed(capsys: pytest.CaptureFixture[str]) -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    written = tomllib.loads(pyproject.read_text())["project"]["version"]

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"profilebot {written}\n"
    assert importlib.metadata.version("profilebot") == written


def _subcommands() -> list[str]:
    parser = _parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(commands.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_is_in_the_readmes_table_and_in_running_md(command: str) -> None:
    root = Path(__file__).parents[2]
    table = [
        line for line in (root / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    running = (root / "docs" / "running.md").read_text()

    assert any(f"`{command}" in line.split("|")[1] for line in table), command
    assert f"profilebot {command}" in running, command
