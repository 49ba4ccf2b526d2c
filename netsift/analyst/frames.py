"""`netsift.read`: a table or view as a pandas DataFrame, for notebooks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect, text

from netsift.db import engine_for, upgrade
from netsift.settings import Settings

# Which column says when a row happened, in order of preference.
TIME_COLUMNS = ("ts", "last_seen", "day", "updated_at")


def read(table: str, since: datetime | str | None = None, *, limit: int | None = None,
         database_url: str | None = None):  # fmt: skip
    """Rows of `table` (a netsift table or view), newest first when it has a
    time column, from `since` on. Names are checked against the schema, never
    pasted in unchecked, and values go as bound parameters."""
    import pandas as pd

    url = database_url or Settings().database_url
    upgrade(url)
    engine = engine_for(url)
    inspector = inspect(engine)
    known = set(inspector.get_table_names()) | set(inspector.get_view_names())
    if table not in known - {"alembic_version"}:
        raise ValueError(f"no table or view {table!r}; choose from {sorted(known - {'alembic_version'})}")
    columns = [c["name"] for c in inspector.get_columns(table)]
    time_column = next((c for c in TIME_COLUMNS if c in columns), None)
    sql, params = f'SELECT * FROM "{table}"', {}
    if since is not None:
        if time_column is None:
            raise ValueError(f"{table} has no time column to filter by")
        sql += f' WHERE "{time_column}" >= :since'
        params["since"] = datetime.fromisoformat(since) if isinstance(since, str) else since
    if time_column:
        sql += f' ORDER BY "{time_column}" DESC'
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    with engine.connect() as conn:
        return pd.read_sql_query(text(sql), conn, params=params)
