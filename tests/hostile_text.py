"""Hypothesis strategies for the text hostile or careless users send."""

from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.user_name import InvalidUserName, NameProblem, UserName

T = TypeVar("T")

ZWJ_EMOJI = ["👩‍👩‍👧‍👦", "🏳️‍🌈", "👨🏽‍💻", "🧑‍🤝‍🧑"]
TRICKY = [
    '{"$gt": ""}',
    "$where",
    "a.b",
    "$",
    ".",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "e\u0301",  # e + combining acute
    "\u0301\u0302\u0303",  # combining marks alone
    "\x00",
    "\n",
    "/",
    " ",
]

fragments = st.one_of(st.sampled_from(ZWJ_EMOJI), st.sampled_from(TRICKY), st.text(max_size=8))
hostile_text = st.one_of(
    st.text(),
    st.lists(fragments, max_size=12).map("".join),
    st.integers(min_value=60, max_value=4096).map(lambda n: ("Ada " * n)[:n]),
)
"""Arbitrary Unicode, ZWJ emoji, combining marks, bidi and zero-width characters, operator-
looking strings and long messages (Telegram's limit is 4,096 characters)."""


def problem_of(text: str) -> NameProblem | None:
    """Why `text` is not a valid name, or None if it is one."""
    try:
        UserName(text)
    except InvalidUserName as error:
        return error.problem
    return None


def draw(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` examples drawn up front, for tests that cannot be `@given` (async fixtures)."""
    drawn: list[T] = []

    @settings(max_examples=count, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: T) -> None:
        drawn.append(example)

    collect()
    return drawn
