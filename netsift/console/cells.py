"""Values as the grid shows them and as CSV holds them.

CSV cells that begin like a formula (`=`, `+`, `-`, `@`, tab, carriage
return) get a leading `'`, as OWASP advises against CSV injection: a user
agent `=HYPERLINK(...)` must not run when the export opens in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import Engine, Select

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def grid_value(value):
    """JSON-ready and readable: times in UTC ISO form, lists as `a, b`."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def csv_value(value):
    value = grid_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(engine: Engine, query: Select, batch_rows: int = 2_000) -> Iterator[str]:
    """The query's rows as CSV text, streamed from a server-side cursor so an
    export of millions of rows holds one batch in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
        writer.writerow(result.keys())
        for batch in result.partitions():
            writer.writerows([csv_value(v) for v in row] for row in batch)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
