"""The user's display name and the rules it must satisfy."""

import enum
import unicodedata
from dataclasses import dataclass

from domain.errors import DomainError

MAX_NAME_LENGTH = 64

# Line separators count as line breaks even where Unicode files them under other categories.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Characters that reorder text on screen; in a name they only serve to disguise it.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters and symbols that render as blank space, a favourite for "empty-looking" names.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


class NameProblem(enum.Enum):
    """Why a name was refused; the presentation layer turns each into words for the user."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    LINE_BREAK = "line_break"
    CONTROL_CHARACTER = "control_character"
    INVISIBLE = "invisible"
    LOOKS_LIKE_COMMAND = "looks_like_command"


class InvalidUserName(DomainError):
    """The proposed name breaks a naming rule; `problem` says which one."""

    def __init__(self, problem: NameProblem) -> None:
        super().__init__(f"invalid user name: {problem.value}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class UserName:
    """A display name, kept as typed apart from NFC normalisation and trimming.

    Nothing is escaped or rewritten: text like `{"$gt": ""}` is a perfectly good name and is
    stored literally, so equal names are equal byte for byte once normalised.
    """

    value: str

    def __post_init__(self) -> None:
        normalised = unicodedata.normalize("NFC", self.value.strip())
        problem = _problem_with(normalised)
        if problem is not None:
            raise InvalidUserName(problem)
        object.__setattr__(self, "value", normalised)

    def __str__(self) -> str:
        return self.value


def _problem_with(value: str) -> NameProblem | None:
    if not value:
        return NameProblem.EMPTY
    if len(value) > MAX_NAME_LENGTH:
        return NameProblem.TOO_LONG
    if any(char in _LINE_BREAKS for char in value):
        return NameProblem.LINE_BREAK
    if any(_is_control(char) for char in value):
        return NameProblem.CONTROL_CHARACTER
    if not any(_is_visible(char) for char in value):
        return NameProblem.INVISIBLE
    if value.startswith("/"):
        return NameProblem.LOOKS_LIKE_COMMAND
    return None


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls; Cs: lone surrogates, which no storage can encode.
    return unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS


def _is_visible(char: str) -> bool:
    return unicodedata.category(char).startswith(_VISIBLE_CATEGORIES) and char not in _BLANK_GLYPHS
