"""The user's display name and the rules it must satisfy."""

import enum
from dataclasses import dataclass

from domain import text_rules
from domain.errors import DomainError

MAX_NAME_LENGTH = 64


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
        value = text_rules.normalised(self.value)
        problem = _problem_with(value)
        if problem is not None:
            raise InvalidUserName(problem)
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return self.value


def _problem_with(value: str) -> NameProblem | None:
    if not value:
        return NameProblem.EMPTY
    if len(value) > MAX_NAME_LENGTH:
        return NameProblem.TOO_LONG
    if text_rules.has_line_break(value):
        return NameProblem.LINE_BREAK
    if text_rules.has_control_character(value):
        return NameProblem.CONTROL_CHARACTER
    if not text_rules.has_visible_character(value):
        return NameProblem.INVISIBLE
    if value.startswith("/"):
        return NameProblem.LOOKS_LIKE_COMMAND
    return None
