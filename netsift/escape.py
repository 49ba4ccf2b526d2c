"""Escaping attacker-controlled text wherever it is displayed.

`visible_text` is for every display (console grid and charts, CLI tables,
artifacts): bidi overrides (U+202E turns `sqlmap/1.7 <U+202E>gnp.exe` into
"sqlmap/1.7 exe.png"), zero-width and other invisible format characters
(Unicode category Cf), line and paragraph separators and control characters
are shown as `<U+202E>`, not interpreted and not silently dropped, so the
analyst sees that they are there.

`markdown_text` is for the Prefect UI, which renders markdown, and raw HTML
inside it, in artifacts: a user agent like `<img src=x onerror=...>` or
`[click](javascript:...)` must arrive as text. Invisible characters are made
visible, then the text is HTML-escaped, then every markdown control
character is neutralised.
"""

from __future__ import annotations

import html
import re
import unicodedata

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# Categories no reader can see, or that reorder or break what follows:
# Cf (format: bidi controls, zero-width joiners, BOM, soft hyphen...), Cc
# (controls), Zl and Zp (U+2028, U+2029), Cs (lone surrogates), Co (private use).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Cs", "Co"})


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


def visible_text(value: object, keep: str = "") -> str:
    """The text with every invisible or reordering character shown as
    `<U+XXXX>`; characters in `keep` (e.g. a newline a display handles) stay."""
    text = "" if value is None else str(value)
    if text.isprintable():  # Python's printable excludes all of those categories
        return text
    return "".join(f"<U+{ord(c):04X}>" if c not in keep and _is_invisible(c) else c for c in text)


def markdown_text(value: object, max_chars: int = 500) -> str:
    """Safe inside a markdown paragraph or table cell, on one line."""
    text = "" if value is None else str(value)
    if len(text) > max_chars:
        text = text[:max_chars] + "…"
    text = visible_text(text.replace("\r", " ").replace("\n", " "))
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))
