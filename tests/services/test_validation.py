"""The control-character check on every string a reader sends, against Unicode's own data."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from commentd.errors import ValidationError
from commentd.services import validation


def test_controls_are_exactly_categories_cc_and_cs() -> None:
    """Every code point: refused where Unicode says it is a control (Cc) or a surrogate (Cs)."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        is_control = unicodedata.category(char) in ("Cc", "Cs")
        assert validation._has_controls(f"a{char}b") is is_control, hex(code)
        refused_in_text = validation._has_controls(f"a{char}b", allow_newlines=True)
        assert refused_in_text is (is_control and char not in "\n\r\t"), hex(code)


@pytest.mark.parametrize("value", ["Ann\x00", "Ann\x1b[31m", "A\u0085nn", "A\ud800"])
def test_a_name_with_a_control_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validation.string(value, "author", max_length=100)
    assert refused.value.field == "author"


def test_text_keeps_newlines_and_tabs_but_not_other_controls() -> None:
    assert validation._has_controls("line one\r\nline\ttwo", allow_newlines=True) is False
    assert validation._has_controls("bell\x07", allow_newlines=True) is True
    assert validation._has_controls("Ann Lee, née Émile 😀") is False
