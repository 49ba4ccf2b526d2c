"""tshark's `-T fields` values as Python values: text, integers, lists.

Every occurrence of a field comes joined by the unit separator (see
tshark.field_args); these split and decode them without trusting them.
"""

from __future__ import annotations


def text(value: bytes) -> str | None:
    if not value:
        return None
    decoded = value.decode("utf-8", "backslashreplace")
    return decoded.replace("\x00", "\\x00") if "\x00" in decoded else decoded


def first(value: bytes) -> bytes:
    return value.split(b"\x1f", 1)[0]


def integer(value: bytes, base: int = 10) -> int | None:
    value = first(value)
    if not value:
        return None
    try:
        return int(value, 0 if value.startswith(b"0x") else base)
    except ValueError:
        return None


def values(value: bytes) -> list[str]:
    return [text(v) or "" for v in value.split(b"\x1f")] if value else []
