"""A pymongo command listener that records (database, command) pairs; shared by the bench
and the round-trip tests. pymongo attaches registered listeners to clients created later."""

from pymongo import monitoring


class CommandLog(monitoring.CommandListener):
    """Every command any client sends, as (database, command name)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.database_name, event.command_name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
