"""A pymongo command listener that records (database, command) pairs, and each command's
span from sent to answered; shared by the bench and the round-trip tests. pymongo attaches
registered listeners to clients created later."""

import time

from pymongo import monitoring

from bench.critical_path import Span

_Key = tuple[object, int, int | None]


class CommandLog(monitoring.CommandListener):
    """Every command any client sends, as (database, command name), and as a `Span` once
    answered (or failed)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.spans: list[Span] = []
        self._started: dict[_Key, tuple[float, monitoring.CommandStartedEvent]] = {}

    def pending(self) -> int:
        """Commands sent and not answered yet."""
        return len(self._started)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.database_name, event.command_name))
        self._started[_key(event)] = (time.monotonic(), event)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finish(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finish(event)

    def _finish(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        found = self._started.pop(_key(event), None)
        if found is None:
            return
        start, sent = found
        target = sent.command.get(sent.command_name)
        collection = target if isinstance(target, str) else ""
        self.spans.append(
            Span(start, time.monotonic(), sent.database_name, sent.command_name, collection)
        )


def _key(
    event: monitoring.CommandStartedEvent
    | monitoring.CommandSucceededEvent
    | monitoring.CommandFailedEvent,
) -> _Key:
    return (event.connection_id, event.request_id, event.operation_id)
