"""Attacker text shown in the Prefect UI arrives as text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netsift.escape import markdown_text


def test_html_and_markdown_links_are_neutralised():
    assert markdown_text("<img src=x onerror=alert(1)>") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt;"
    )
    assert markdown_text("[click](javascript:alert(1))") == (
        "\\[click\\]\\(javascript:alert\\(1\\)\\)"
    )
    assert markdown_text("a|b\nc") == "a\\|b c"
    assert markdown_text(None) == ""


@given(st.text())
def test_no_raw_markup_survives(value):
    out = markdown_text(value, max_chars=10_000)
    assert "<" not in out and ">" not in out and "\n" not in out
    for special in "[]()|`*_":
        assert out.count(special) == out.count("\\" + special)


def test_long_values_are_cut():
    assert len(markdown_text("x" * 1000, max_chars=10)) == 11
