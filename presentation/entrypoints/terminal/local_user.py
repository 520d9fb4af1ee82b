"""Who the terminal chat speaks as. Standard library only: the command line parses into it
before anything slow to import is loaded."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LocalUser:
    user_id: int
    language_code: str | None = None
    """The interface language Telegram would report for the user (`--language`)."""
