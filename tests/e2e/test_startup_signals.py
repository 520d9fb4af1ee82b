"""SIGTERM or SIGINT while `profilebot polling` is still starting: one line, exit code
128 + the signal number, no traceback, and the embedded server stopped."""

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, is_gone, processes_using, wait_until

pytestmark = pytest.mark.e2e

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT]


@pytest.fixture
def starting_bot(tmp_path: Path, embedded_env: dict[str, str]) -> Iterator[BotProcess]:
    process = BotProcess(tmp_path, embedded_env)
    yield process
    if process.process.poll() is None:
        process.kill()


def assert_interrupted_cleanly(
    bot: BotProcess, stop_signal: signal.Signals, server: int, data: Path
) -> None:
    assert bot.process.wait(60) == 128 + stop_signal
    output = bot.output()
    assert [line for line in output.splitlines() if line.startswith("profilebot:")] == [
        f"profilebot: interrupted by {stop_signal.name} during start-up"
    ]
    assert "Traceback" not in output
    wait_until(lambda: is_gone(server), 30, "the embedded server to stop")
    assert processes_using(data) == []


@pytest.mark.parametrize("stop_signal", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_aiogram_is_imported_stops_the_server_and_exits_128_plus_signal(
    tmp_path: Path, starting_bot: BotProcess, stop_signal: signal.Signals
) -> None:
    # The server is launched just before aiogram is imported, which takes seconds.
    server = starting_bot.embedded_server()

    starting_bot.process.send_signal(stop_signal)

    assert_interrupted_cleanly(starting_bot, stop_signal, server, tmp_path / "mongo")
    assert "MongoDB is reachable" not in starting_bot.output()  # start-up got no further


@pytest.mark.parametrize("stop_signal", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_set_my_commands_hangs_stops_the_server_and_exits_128_plus_signal(
    tmp_path: Path, embedded_env: dict[str, str], bot_api: FakeBotApi, stop_signal: signal.Signals
) -> None:
    bot_api.hold("setMyCommands")
    bot = BotProcess(tmp_path, embedded_env)
    try:
        bot_api.wait_for_call("setMyCommands", timeout=120)
        server = bot.embedded_server()

        bot.process.send_signal(stop_signal)

        assert_interrupted_cleanly(bot, stop_signal, server, tmp_path / "mongo")
        output = bot.output()
        assert output.index("MongoDB client closed") < output.index("stopped embedded MongoDB")
        assert not bot_api.calls_of("getUpdates")  # never got to polling
    finally:
        if bot.process.poll() is None:
            bot.kill()
