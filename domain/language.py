"""The language a user chose for the bot's replies."""

import re
from dataclasses import dataclass

from domain.errors import DomainError

_CODE = re.compile(r"[a-z]{2}")


class InvalidLanguage(DomainError):
    """Not a two-letter ISO 639-1 code; which languages the bot speaks is not the domain's
    business, but what a language code looks like is."""


@dataclass(frozen=True, slots=True)
class Language:
    """An ISO 639-1 code, lower case: "en", "ru"."""

    code: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE.fullmatch(self.code):
            raise InvalidLanguage(f"a language is a two-letter ISO 639-1 code, got {self.code!r}")

    def __str__(self) -> str:
        return self.code
