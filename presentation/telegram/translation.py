"""The bot's languages and the gettext catalogues that translate its texts.

aiogram's `I18n` loads the compiled catalogues (`locales/<language>/LC_MESSAGES/messages.mo`,
compiled from the `.po` sources when the project is installed) and keeps the language of the
update being handled in a context variable, which `_` and `ngettext` read. English is the
source language: its texts are the message ids, so it needs no catalogue.

Outside an update (a test, the command menu at start-up) the texts are English unless a
language is chosen with `speaking`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Final

from aiogram.utils.i18n import I18n

LOCALES: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"
DEFAULT: Final = "en"
LANGUAGES: Final = {"en": "English", "ru": "Русский"}
"""The languages the bot speaks, each named in itself (so never translated)."""


@cache
def catalogues() -> I18n:
    """The compiled catalogues, loaded once per process."""
    return I18n(path=LOCALES, default_locale=DEFAULT, domain=DOMAIN)


def compiled(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def missing_catalogues() -> list[str]:
    """Languages other than English whose compiled catalogue is not there (the project was
    not installed). Looks for the files: loading them would fail, not report."""
    return [code for code in LANGUAGES if code != DEFAULT and not compiled(code).is_file()]


def _(message: str) -> str:
    """`message` in the current language (the message itself in English)."""
    i18n = I18n.get_current(no_error=True)
    return message if i18n is None else i18n.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` that the current language uses for `n`."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        return singular if n == 1 else plural
    return i18n.gettext(singular, plural, n)


def current_language() -> str:
    i18n = I18n.get_current(no_error=True)
    return DEFAULT if i18n is None else i18n.current_locale


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Texts rendered inside are in `language`."""
    i18n = catalogues()
    with i18n.context(), i18n.use_locale(language):
        yield


def use(language: str) -> None:
    """From here to the end of the update, texts are in `language`."""
    catalogues().current_locale = language


def in_every_language(text: Callable[[], str]) -> frozenset[str]:
    """`text` as each language says it: what a user may send back, whichever they saw."""
    rendered = set()
    for language in LANGUAGES:
        with speaking(language):
            rendered.add(text())
    return frozenset(rendered)


def from_telegram(language_code: str | None) -> str:
    """The language for Telegram's `language_code` (an IETF tag such as "ru" or "pt-BR"):
    its primary subtag if the bot speaks it, else English."""
    primary = (language_code or "").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT
