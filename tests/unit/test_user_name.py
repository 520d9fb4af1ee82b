import pytest

from domain.user_name import MAX_NAME_LENGTH, InvalidUserName, NameProblem, UserName


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace \t", "Ada Lovelace"),
        ("Jose\u0301", "José"),  # decomposed accent is composed (NFC)
        ("李小龍", "李小龍"),
        ("👩‍💻 Grace", "👩‍💻 Grace"),  # ZWJ inside an emoji sequence is fine
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
        ('{"$gt": ""}', '{"$gt": ""}'),  # looks like a query operator; stored literally
        ("$where", "$where"),
        ("a.b", "a.b"),
        ("<b>bold</b>", "<b>bold</b>"),
        ("ada/lovelace", "ada/lovelace"),
    ],
)
def test_accepted_names_are_normalised_and_otherwise_kept_literally(raw: str, stored: str) -> None:
    assert UserName(raw).value == stored


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NameProblem.EMPTY),
        ("   \t ", NameProblem.EMPTY),
        ("x" * (MAX_NAME_LENGTH + 1), NameProblem.TOO_LONG),
        ("Ada\nLovelace", NameProblem.LINE_BREAK),
        ("Ada\u2028Lovelace", NameProblem.LINE_BREAK),
        ("Ada\x07", NameProblem.CONTROL_CHARACTER),
        ("Ada\x00", NameProblem.CONTROL_CHARACTER),
        ("\u202eadA", NameProblem.CONTROL_CHARACTER),  # right-to-left override
        ("Ada\ud800", NameProblem.CONTROL_CHARACTER),  # lone surrogate: unstorable
        ("\u200b\u200b", NameProblem.INVISIBLE),  # zero-width spaces
        ("\u3164", NameProblem.INVISIBLE),  # Hangul filler renders blank
        ("\u0301\u0302", NameProblem.INVISIBLE),  # combining marks on nothing
        ("/start", NameProblem.LOOKS_LIKE_COMMAND),
        ("  /me", NameProblem.LOOKS_LIKE_COMMAND),
    ],
)
def test_refused_names_say_what_is_wrong(raw: str, problem: NameProblem) -> None:
    with pytest.raises(InvalidUserName) as refused:
        UserName(raw)
    assert refused.value.problem is problem


def test_length_counts_characters_after_normalisation() -> None:
    decomposed = "e\u0301" * MAX_NAME_LENGTH  # 128 code points, 64 once composed
    assert len(UserName(decomposed).value) == MAX_NAME_LENGTH


def test_equal_after_normalisation() -> None:
    assert UserName(" Jose\u0301") == UserName("José")
