"""Attacker text shown in the Prefect UI arrives as text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netsift.escape import markdown_text, visible_text


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


SPOOF = "sqlmap/1.7 \u202egnp.exe"


def test_bidi_overrides_and_invisible_characters_are_shown_not_applied():
    assert visible_text(SPOOF) == "sqlmap/1.7 <U+202E>gnp.exe"
    assert markdown_text(SPOOF) == "sqlmap/1\\.7 &lt;U\\+202E&gt;gnp\\.exe"
    for char in ("\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
                 "\u200f", "\u061c", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u2028", "\u2029", "\x1b", "\x00"):
        assert visible_text(f"a{char}b") == f"a<U+{ord(char):04X}>b"
    assert visible_text("a\nb", keep="\n") == "a\nb"
    # Ordinary text of any script, spaces and emoji pass unchanged.
    for text in ("Mozilla/5.0 (X11; Linux x86_64)", "مرحبا بالعالم", "日本語", "non\u00a0breaking", "🙂", ""):
        assert visible_text(text) == text
    assert visible_text(None) == ""


@given(st.text())
def test_nothing_invisible_survives(value):
    import unicodedata

    for out in (visible_text(value), markdown_text(value, max_chars=10_000)):
        assert not [c for c in out if unicodedata.category(c) in ("Cf", "Cc", "Zl", "Zp", "Cs", "Co")]
