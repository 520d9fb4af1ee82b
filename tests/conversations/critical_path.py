"""Sequential MongoDB round trips (the critical path), counted without a clock.

Calls the event loop submits to the executor before it sees any of them return go out
together: one round. The first return seen closes the round; a call submitted after it may
depend on it, so it starts the next. Told by the loop's own order of events, not by timing,
so the count is the same on any machine: calls gathered in one step are all submitted
before the loop runs the callback of any that returned. Commands sent inside one call (a
driver's retry, an upsert tried again without upsert) count as that call's round.
"""

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pymongo import monitoring

from bench.command_log import CommandLog
from infrastructure.mongo_executor import MongoExecutor

_ROUND: ContextVar[int] = ContextVar("round", default=0)


class RoundLog(CommandLog):
    """Every command, as `CommandLog` has it, and the round each went out in (0: outside any
    counted executor)."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[int] = []
        self._pairs = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._pairs:  # listeners run in the executor's threads: keep the lists paired
            super().started(event)
            self.rounds.append(_ROUND.get())  # calls run in a copy of the caller's context


class CountedRounds:
    """Numbers the rounds of calls through one executor."""

    def __init__(self) -> None:
        self._open = False
        self._round = 0

    def install(self, executor: MongoExecutor) -> None:
        run = executor.run

        async def counted(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            if not self._open:
                self._round += 1
                self._open = True
            token = _ROUND.set(self._round)
            try:
                return await run(call, *args, **kwargs)
            finally:
                self._open = False
                _ROUND.reset(token)

        executor.run = counted  # type: ignore[method-assign]


def in_rounds(commands: list[tuple[str, int]]) -> list[str]:
    """(command, round) pairs as one entry per round: its commands sorted, joined by `+`."""
    rounds: dict[int, list[str]] = {}
    for name, number in commands:
        rounds.setdefault(number, []).append(name)
    return ["+".join(sorted(names)) for _, names in sorted(rounds.items())]
