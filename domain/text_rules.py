"""Rules for one line of text a user types as a value (a name, and any field like it), so
that every such value refuses the same characters for the same reasons."""

import unicodedata

# Line separators count as line breaks even where Unicode files them under other categories.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Characters that reorder text on screen; in a value they only serve to disguise it.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters and symbols that render as blank space, a favourite for "empty-looking" values.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def normalised(value: str) -> str:
    """As kept: NFC-normalised and trimmed, otherwise exactly as typed."""
    return unicodedata.normalize("NFC", value.strip())


def has_line_break(value: str) -> bool:
    return any(char in _LINE_BREAKS for char in value)


def has_control_character(value: str) -> bool:
    """C0/C1 controls, lone surrogates (which no storage can encode) and bidi controls."""
    return any(
        unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS for char in value
    )


def has_visible_character(value: str) -> bool:
    return any(
        unicodedata.category(char).startswith(_VISIBLE_CATEGORIES) and char not in _BLANK_GLYPHS
        for char in value
    )
