"""Counts in words, shared by the CLI's lines and the runs' log lines, which
users read alike ("1 object", never "1 objects")."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 object`, `2 objects`."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
