import unicodedata

import pytest
from hypothesis import given, settings

from domain.user_name import MAX_NAME_LENGTH, InvalidUserName, UserName
from tests.hostile_text import hostile_text, problem_of


@settings(max_examples=2000)
@given(hostile_text)
def test_any_text_is_a_valid_name_or_rejected_with_a_reason(text: str) -> None:
    if problem_of(text) is not None:
        with pytest.raises(InvalidUserName):
            UserName(text)
        return
    name = UserName(text)
    assert name.value == unicodedata.normalize("NFC", text).strip()
    assert 1 <= len(name.value) <= MAX_NAME_LENGTH
    assert "\n" not in name.value
    assert not name.value.startswith("/")


@settings(max_examples=500)
@given(hostile_text)
def test_a_valid_name_is_stable_when_validated_again(text: str) -> None:
    if problem_of(text) is None:
        name = UserName(text)
        assert UserName(name.value) == name
