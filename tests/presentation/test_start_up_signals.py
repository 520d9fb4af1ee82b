"""Stop signals during start-up: noted where they land, raised only where start-up can be
abandoned (a checkpoint, or a block that only waits), never printed as a traceback."""

import asyncio
import os
import signal
import threading
import time

import pytest

from presentation.entrypoints.interruption import (
    Interrupted,
    StartUpSignals,
    stop_signals_cancel_this_task,
)


def deliver(signum: signal.Signals) -> None:
    """Send `signum` to this process and give Python the bytecodes to run its handler."""
    os.kill(os.getpid(), signum)
    for _ in range(1000):
        pass


def test_a_signal_outside_a_waiting_block_is_noted_not_raised() -> None:
    with StartUpSignals() as signals:
        deliver(signal.SIGTERM)  # would have raised here, in whatever code was running

        assert signals.received == signal.SIGTERM
        with pytest.raises(Interrupted) as raised:
            signals.check()
    assert raised.value.exit_code == 128 + signal.SIGTERM


def test_a_signal_inside_a_waiting_block_ends_it_at_once() -> None:
    started = time.monotonic()
    with StartUpSignals() as signals:
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(Interrupted), signals.waiting():
            time.sleep(30)
    assert time.monotonic() - started < 25  # not the whole sleep


def test_a_signal_noted_before_a_waiting_block_ends_it_before_it_waits() -> None:
    with StartUpSignals() as signals:
        deliver(signal.SIGINT)
        with pytest.raises(Interrupted), signals.waiting():
            pytest.fail("the block ran although a signal had arrived")


def test_a_signal_landing_in_a_finaliser_prints_nothing_and_still_interrupts(
    capfd: pytest.CaptureFixture[str],
) -> None:
    class SignalledWhileFinalised:
        def __del__(self) -> None:
            deliver(signal.SIGTERM)  # its handler runs here, inside the finaliser

    with StartUpSignals() as signals, pytest.raises(Interrupted), signals.waiting():
        SignalledWhileFinalised()

    assert "Exception ignored" not in capfd.readouterr().err


def test_later_signals_are_ignored_so_the_clean_up_runs_to_its_end() -> None:
    with StartUpSignals() as signals, pytest.raises(Interrupted), signals.waiting():
        deliver(signal.SIGTERM)
    with StartUpSignals() as signals:
        signals.ignore_further(signal.SIGTERM)
        deliver(signal.SIGTERM)
        deliver(signal.SIGINT)
        assert signals.received == signal.SIGTERM


def test_the_previous_handlers_come_back_afterwards() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StartUpSignals():
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before


async def test_a_signal_noted_before_the_event_loop_took_over_stops_its_first_task() -> None:
    with StartUpSignals():
        deliver(signal.SIGTERM)

        with stop_signals_cancel_this_task() as stop:
            await asyncio.sleep(30)

    assert stop.signum == signal.SIGTERM


def test_once_the_event_loop_ended_signals_are_ignored_during_the_clean_up() -> None:
    with StartUpSignals() as signals:
        signals.ignore_further()  # the loop ended without a signal (the chat's input ended)
        deliver(signal.SIGTERM)
        deliver(signal.SIGINT)  # neither kills the process nor raises anywhere

        assert signals.received is None
