"""How the CLI prints: Rich tables on a terminal, plain lines in pipes, one
line per error on stderr.

In a pipe Rich would wrap at 80 columns, splitting an IPv6 address or a user
agent over lines; there, tables are tab-separated lines with nothing wrapped
(`cut -f`, `awk -F'\\t'`), control characters and tabs in values escaped.
"""

from __future__ import annotations

import re
import sys
from typing import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from netsift.escape import visible_text

console = Console()
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def cell(value: object) -> str:
    """A value on one line: None as nothing, control characters (an
    attacker's ANSI escapes, tabs, newlines) as visible escapes, bidi
    overrides and other invisible characters as <U+XXXX>."""
    if value is None:
        return ""
    escaped = _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(value))
    return visible_text(escaped)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence], styles: Sequence[str] | None = None) -> None:
    """A titled table; `styles` (per row) colour it on a terminal only."""
    rows = [[cell(v) for v in row] for row in rows]
    if not console.is_terminal:
        lines = [f"# {title}", "\t".join(columns)] + ["\t".join(row) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n\n")
        sys.stdout.flush()
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for number, row in enumerate(rows):
        table.add_row(*row, style=(styles[number] if styles else "") or None)
    console.print(table, markup=False, highlight=False)


def print_line(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def error_line(text: str) -> None:
    """One line on stderr, never wrapped nor interpreted as markup."""
    sys.stderr.write("netsift: " + cell(text) + "\n")
    sys.stderr.flush()
