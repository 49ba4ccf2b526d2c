"""Reading Zeek's own logs, zat-style: the schema comes from the `#fields` line."""

from __future__ import annotations

from pathlib import Path


def read_zeek_log(path: Path) -> list[dict]:
    """Rows as dicts; Zeek's `-` and `(empty)` become None, vectors lists."""
    fields, rows = None, []
    for line in path.read_text().splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            values = [None if v in ("-", "(empty)") else v for v in line.split("\t")]
            rows.append(dict(zip(fields, values)))
    return rows
