"""Reading Zeek's own logs, zat-style: the schema comes from the `#fields` line."""

from __future__ import annotations

from pathlib import Path


def read_zeek_log(path: Path) -> list[dict]:
    """Rows as dicts; Zeek's `-` and `(empty)` become None, vectors lists.
    A baseline cut with zeek-cut -c has a bare header line instead."""
    fields, rows = None, []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#fields") or (fields is None and line and not line.startswith("#")):
            fields = line.split("\t")[line.startswith("#") :]
        elif line and not line.startswith("#"):
            values = [None if v in ("-", "(empty)") else v for v in line.split("\t")]
            rows.append(dict(zip(fields, values)))
    return rows
