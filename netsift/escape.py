"""Escaping attacker-controlled text for the Prefect UI.

The UI renders markdown, and raw HTML inside it, in artifacts: a user agent
like `<img src=x onerror=...>` or `[click](javascript:...)` must arrive as
text. HTML-escape first, then neutralise every markdown control character.
"""

from __future__ import annotations

import html
import re

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def markdown_text(value: object, max_chars: int = 500) -> str:
    """Safe inside a markdown paragraph or table cell, on one line."""
    text = "" if value is None else str(value)
    if len(text) > max_chars:
        text = text[:max_chars] + "…"
    text = _CONTROL.sub("\ufffd", text).replace("\r", " ").replace("\n", " ")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))
