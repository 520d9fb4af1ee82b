"""The translation catalogues against the code: every text the code says is translated, no
translation is left over from text the code no longer says, and what was compiled at
install is what the sources say."""

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from presentation.telegram.translation import DEFAULT, DOMAIN, LANGUAGES, LOCALES

PRESENTATION = Path(__file__).parents[2] / "presentation"
TRANSLATED = [language for language in LANGUAGES if language != DEFAULT]
PLACEHOLDER = re.compile(r"\{\w+\}")

MessageId = str | tuple[str, str]


def _in_code() -> set[MessageId]:
    """Every message id `_(...)` and `ngettext(...)` are called with, as Babel finds them."""
    found: set[MessageId] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PRESENTATION, method_map=[("**.py", "python")]
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def _catalogue(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=language)


def _entries(catalogue: Catalog) -> dict[MessageId, Message]:
    entries: dict[MessageId, Message] = {}
    for message in catalogue:
        if message.id:
            key = message.id if isinstance(message.id, str) else tuple(message.id)
            entries[key] = message  # type: ignore[index]
    return entries


def _strings(message: Message) -> list[str]:
    """A translation, or each plural form of one."""
    string = message.string
    if isinstance(string, str):
        return [string]
    return [] if string is None else list(string)


def test_the_code_says_something_to_translate() -> None:
    assert len(_in_code()) > 40  # so that the comparisons below compare something


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_the_code_says_is_in_the_catalogue(language: str) -> None:
    missing = _in_code() - set(_entries(_catalogue(language)))

    assert missing == set()


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_has_no_message_the_code_no_longer_says(language: str) -> None:
    unused = set(_entries(_catalogue(language))) - _in_code()

    assert unused == set()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    forms = catalogue.num_plurals
    problems = []
    for key, message in _entries(catalogue).items():
        strings = _strings(message)
        ids = [key] if isinstance(key, str) else list(key)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
        if not isinstance(key, str) and len(strings) != forms:
            problems.append(f"{len(strings)} plural forms, not {forms}: {ids[0]!r}")
        wanted = set(PLACEHOLDER.findall(ids[0]))
        problems += [
            f"placeholders {sorted(set(PLACEHOLDER.findall(s)))} for {sorted(wanted)}: {s!r}"
            for s in strings
            if set(PLACEHOLDER.findall(s)) != wanted
        ]

    assert problems == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_says_what_its_source_says(language: str) -> None:
    """Compiled at install; a source edited since needs the project installed again."""
    with (LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    stale = []
    for key, message in _entries(_catalogue(language)).items():
        if isinstance(key, str):
            if translations.gettext(key) != message.string:
                stale.append(key)
        else:
            for n, form in zip((1, 2, 5), _strings(message), strict=False):
                if translations.ngettext(key[0], key[1], n) != form:
                    stale.append(key[0])

    assert stale == []
