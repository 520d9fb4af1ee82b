"""How long each MongoDB command takes, as pymongo's command monitoring reports it.

Only the command's name and outcome leave here: never its arguments, which carry user data.
"""

from collections.abc import Callable

from pymongo import monitoring

CommandObserver = Callable[[str, float, bool], None]
"""Called with the command's name, its duration in seconds, and whether it succeeded."""


class CommandTimer(monitoring.CommandListener):
    """A listener for one `MongoClient` (pass it in `event_listeners`). pymongo calls it on
    the thread that ran the command, so `observe` must be thread-safe."""

    def __init__(self, observe: CommandObserver) -> None:
        self._observe = observe

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Only finished commands have a duration."""

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event.command_name, event.duration_micros / 1e6, True)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event.command_name, event.duration_micros / 1e6, False)
