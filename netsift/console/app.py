"""The Dash app behind `netsift browse`: a grid over one table at a time, the
plots, and a CSV export of the grid's current view.

Dash with AG Grid rather than Dash's DataTable: Dash 4 deprecates DataTable,
and AG Grid's infinite row model hands the server each page request as
structured JSON (rows wanted, filter model, sort model), so nothing is parsed
from a filter string and no table is ever sent whole to the browser.
"""

from __future__ import annotations

import json
import uuid
from itertools import chain
from urllib.parse import urlencode

import dash_ag_grid as dag
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Response, request, stream_with_context
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DataError, DBAPIError

from netsift.console import charts
from netsift.console.access import guard
from netsift.console.cells import csv_chunks, grid_value
from netsift.escape import visible_text
from netsift.console.grid_query import (FilterError, count_query, filtered, order_clauses, page_query,
                                        valid_unicode)
from netsift.console.tables import BROWSABLE, UnknownColumn, browsable, kind_of
from netsift.db import normalized_url
from netsift.settings import redacted

# What a malformed request raises; the browser gets the reason, never a 500.
INPUT_ERRORS = (FilterError, UnknownColumn, TypeError, ValueError, OverflowError, RecursionError, AttributeError)
PAGE_ROWS = 100
COUNT_CAP = 100_000
DEFAULT_TABLE = "cloudfront_requests_classified"
FILTERS = {"date": "agDateColumnFilter"}
# Numbers get a text box, so `> 400` can be typed as in Dash's DataTable.
WIDTHS = {"number": 130, "bool": 110, "date": 200}
NUMBER_FILTER = {"filterOptions": ["contains", "equals", "notEqual", "blank", "notBlank"],
                 "defaultOption": "contains"}  # fmt: skip
WIDE = {"cs_uri_stem", "uri", "cs_user_agent", "user_agent", "cs_referer", "referrer", "file_type",
        "error", "raw_line", "evidence", "query", "answers"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 1rem; }
header { display: flex; gap: 1rem; align-items: baseline; }
.toolbar { display: flex; gap: .75rem; align-items: center; margin: .5rem 0; flex-wrap: wrap; }
.toolbar .table-choice { width: 22rem; } .toolbar .column-choice { min-width: 22rem; flex: 1; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(36rem, 1fr)); gap: .5rem;
          grid-auto-flow: dense; }
.charts .wide { grid-column: 1 / -1; }
.error { color: #b00020; } .muted { color: #666; }
"""


def column_defs(table: str, hidden: frozenset[str] = frozenset()) -> list[dict]:
    """Hiding is part of the definitions, sent one way to the grid. Through
    the grid's `columnState`, which the grid also writes back, a second hide
    chosen while the first was being written back was sometimes lost. Widths
    are initial ones, so a hide does not undo a column the analyst resized."""
    defs, view = [], browsable(table)
    for column in (view.table.c[name] for name in view.display_order):
        kind = kind_of(column)
        filter_ = FILTERS.get(kind, "agTextColumnFilter")
        definition = {"field": column.name, "headerName": column.name, "filter": filter_}
        if kind == "date":
            definition["filterParams"] = {"inRangeInclusive": False}
        if kind in ("text", "list", "json"):
            definition["filterParams"] = {"caseSensitive": True}
            definition["headerTooltip"] = f"{column.name}: wp (contains, case-sensitive), icontains wp, = x, != x"
        if kind == "number":
            definition["filterParams"] = NUMBER_FILTER
            definition["headerTooltip"] = f"{column.name}: type 400, > 400, <= 1024 or != 200"
        definition["initialWidth"] = 320 if column.name in WIDE else WIDTHS.get(kind, 180)
        definition["hide"] = column.name in hidden
        defs.append(definition)
    return defs


def grid(table: str, filter_model: dict) -> dag.AgGrid:
    """A new grid per table or per chart click: the infinite row model starts
    over with the filter it is born with."""
    return dag.AgGrid(
        id={"type": "grid", "table": table, "n": uuid.uuid4().hex},
        rowModelType="infinite",
        columnDefs=column_defs(table),
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 110},
        filterModel=filter_model,
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": PAGE_ROWS,
            "paginationPageSizeSelector": False,
            "cacheBlockSize": PAGE_ROWS,
            "maxBlocksInCache": 20,
            "infiniteInitialRowCount": 1,
            "rowBuffer": 0,
            "suppressMultiSort": False,
            "enableCellTextSelection": True,
            # Every column in the page, so the browser's find-in-page sees them all.
            "suppressColumnVirtualisation": True,
        },
        style={"height": "70vh"},
    )


def layout(database: str) -> html.Div:
    options = [{"label": f"{b.label} ({name})", "value": name} for name, b in BROWSABLE.items()]
    chart_ids = [*charts.SOURCE_CHARTS, "alerts"]
    return html.Div([
        html.Header([html.H2("netsift console"), html.Span(database, className="muted")]),
        dcc.Tabs(id="tabs", value="tables", children=[
            dcc.Tab(label="Tables", value="tables", children=[
                html.Div(className="toolbar", children=[
                    dcc.Dropdown(id="table", options=options, value=DEFAULT_TABLE, clearable=False,
                                 className="table-choice"),
                    dcc.Dropdown(id="hidden", multi=True, placeholder="Hide columns…",
                                 className="column-choice"),
                    html.A("Export CSV", id="export", href="", download=""),
                    html.Span(id="count", className="muted"),
                ]),
                html.Div(id="error", className="error", role="alert"),
                html.Div(id="grid-holder"),
            ]),
            dcc.Tab(label="Charts", value="charts", children=[
                html.Div(className="toolbar", children=[
                    html.Span("Requests from"),
                    dcc.RadioItems(id="source", value="cloudfront", inline=True,
                                   options=[{"label": s.label, "value": k} for k, s in charts.SOURCES.items()]),
                    html.Span("Click a bar to see its rows.", className="muted"),
                ]),
                html.Div(className="charts", children=[
                    dcc.Graph(id={"type": "chart", "name": name}, config={"displaylogo": False},
                              className="wide" if name in charts.WIDE_CHARTS else "")
                    for name in chart_ids
                ]),
            ]),
        ]),
        dcc.Store(id="view"),
    ])  # fmt: skip


def console_engine(database_url: str, query_timeout_seconds: float):
    """The console's own engine, read-only: it reads, so nothing it runs can
    write, whatever a bug let through. On PostgreSQL every statement is also
    stopped after the timeout (a filter no index serves, over a billion rows,
    must not hold a connection for an hour). On SQLite it reads without the
    loaders' write lock (WAL), so browsing never stalls an ingest."""
    url = normalized_url(database_url)
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, connect_args={"options": postgres_options(query_timeout_seconds)})
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_query_only)
    return engine


def postgres_options(query_timeout_seconds: float) -> str:
    """The console's session settings on PostgreSQL.

    JIT is off: a page over day partitions joins every day's table into the
    classified view, so the planner's cost passes jit_above_cost and
    PostgreSQL compiles hundreds of functions (0.65 s measured over 100 days)
    for a query that runs in 4 ms (`make bench-partitions`).
    """
    timeout_ms = max(1, int(query_timeout_seconds * 1000))
    return f"-c statement_timeout={timeout_ms} -c default_transaction_read_only=on -c jit=off"


def _sqlite_query_only(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def create_app(database_url: str, token: str | None = None, allowed_hosts: set[str] | None = None,
               query_timeout_seconds: float = 30.0) -> Dash:  # fmt: skip
    engine = console_engine(database_url, query_timeout_seconds)
    dialect = engine.dialect.name
    app = Dash(__name__, title="netsift console", update_title=None, suppress_callback_exceptions=True)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + STYLE + "</style>")
    guard(app.server, token, allowed_hosts)
    app.layout = layout(redacted(database_url))

    @app.callback(
        Output("table", "value"),
        Output("grid-holder", "children"),
        Output("tabs", "value"),
        Output("hidden", "options"),
        Output("hidden", "value"),
        Input("table", "value"),
        Input({"type": "chart", "name": ALL}, "clickData"),
    )
    def show_table(table, _clicks):
        """A table chosen, or a bar clicked: a fresh grid, filtered as asked."""
        trigger = ctx.triggered_id
        filter_model, tab = {}, no_update
        if isinstance(trigger, dict) and trigger.get("type") == "chart":
            target = charts.clicked_link(ctx.triggered[0]["value"])
            if target is None or not _known(target.get("table")) or not _valid(target):
                return (no_update,) * 5
            table, filter_model, tab = target["table"], target["filter"], "tables"
        if not _known(table):
            table = DEFAULT_TABLE
        return table, grid(table, filter_model), tab, browsable(table).display_order, []

    @app.callback(
        Output({"type": "grid", "table": ALL, "n": ALL}, "getRowsResponse"),
        Output("view", "data"),
        Output("error", "children"),
        Output("count", "children"),
        Input({"type": "grid", "table": ALL, "n": ALL}, "getRowsRequest"),
        prevent_initial_call=True,
    )
    def rows(requests):
        """One page, filtered and sorted in the database. The first page also
        counts the rows, with the same filter in the same callback, so the
        count above the grid is always the count of the rows in it. A request
        the console cannot serve is refused with one line on the page."""
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not requests or not isinstance(requests[0], dict):
            return [no_update] * len(requests or []), no_update, no_update, no_update
        req, empty = requests[0], [{"rowData": [], "rowCount": 0}]
        try:
            view = browsable(trigger.get("table"))
            start, end = req.get("startRow", 0), req.get("endRow", PAGE_ROWS)
            valid_unicode(req.get("filterModel"), req.get("sortModel"))
            query = page_query(view, req.get("filterModel"), req.get("sortModel"), start, end, dialect)
            with engine.connect() as conn:
                result = conn.execute(query)
                names = list(result.keys())
                data = [dict(zip(names, map(shown_value, row))) for row in result]
                n = conn.execute(count_query(view, req.get("filterModel"), dialect, COUNT_CAP)).scalar() \
                    if int(start) == 0 else None
        except INPUT_ERRORS as error:
            return empty, None, f"Filter not applied: {one_line(error)}", ""
        except DBAPIError as error:
            return empty, None, f"The database refused this view: {_reason(error)}", ""
        response = {"rowData": data}
        if len(data) < int(end) - int(start):
            response["rowCount"] = int(start) + len(data)
        if n is None:
            return [response], no_update, "", no_update
        if n <= COUNT_CAP:
            # The grid learns its total from the first page: a view of exactly
            # 100 rows, or of thousands, no longer reads "1 to 100 of more".
            response["rowCount"] = n
        current = {"table": view.name, "filter": req.get("filterModel") or {}, "sort": req.get("sortModel") or []}
        return [response], current, "", f"more than {COUNT_CAP:,} rows" if n > COUNT_CAP else f"{n:,} rows"

    @app.callback(
        Output({"type": "grid", "table": ALL, "n": ALL}, "columnDefs"),
        Input("hidden", "value"),
        State("table", "value"),
        State({"type": "grid", "table": ALL, "n": ALL}, "id"),
        prevent_initial_call=True,
    )
    def hide_columns(hidden, table, grids):
        if not _known(table):
            return [no_update for _ in grids]
        defs = column_defs(table, frozenset(h for h in hidden or [] if isinstance(h, str)))
        return [defs for _ in grids]

    @app.callback(
        Output("export", "href"),
        Input("view", "data"),
        Input("hidden", "value"),
    )
    def export_link(current, hidden):
        if not isinstance(current, dict) or not _known(current.get("table")) or not _valid(current):
            return ""
        view = browsable(current["table"])
        params = {"table": view.name, "filter": json.dumps(current.get("filter") or {}),
                  "sort": json.dumps(current.get("sort") or [])}
        if hidden:
            hidden = {h for h in hidden if isinstance(h, str)} if isinstance(hidden, list) else set()
            params["columns"] = ",".join(name for name in view.display_order if name not in hidden)
        return "/export.csv?" + urlencode(params)

    @app.callback(
        Output({"type": "chart", "name": ALL}, "figure"),
        Input("source", "value"),
        State({"type": "chart", "name": ALL}, "id"),
    )
    def draw(source_key, ids):
        source = charts.SOURCES.get(source_key if isinstance(source_key, str) else "", charts.SOURCES["cloudfront"])
        figures = []
        for chart_id in ids:
            name = chart_id["name"]
            try:
                if name == "alerts":
                    figures.append(charts.alerts_over_time(engine))
                else:
                    figures.append(charts.SOURCE_CHARTS[name](engine, source))
            except DBAPIError as error:
                figures.append(charts.unavailable(f"{name}: {_reason(error)}"))
        return figures

    @app.server.route("/export.csv")
    def export_csv():
        """The grid's current view, every matching row, as CSV."""
        try:
            view = browsable(request.args.get("table", ""))
            filter_model = json.loads(request.args.get("filter") or "{}")
            sort_model = json.loads(request.args.get("sort") or "[]")
            columns = [c for c in (request.args.get("columns") or "").split(",") if c] or view.display_order
            query = filtered(view, filter_model, dialect, columns).order_by(*order_clauses(view, sort_model))
            # Run the query before answering: a refusal is then a 400, not a
            # broken download.
            chunks = csv_chunks(engine, query)
            first = next(chunks)
        except INPUT_ERRORS as error:
            return Response(f"export refused: {one_line(error)}\n", 400, mimetype="text/plain")
        except DataError as error:
            return Response(f"export refused: {_reason(error)}\n", 400, mimetype="text/plain")
        except DBAPIError as error:
            return Response(f"export failed: {_reason(error)}\n", 503, mimetype="text/plain")
        headers = {"Content-Disposition": f'attachment; filename="{view.name}.csv"'}
        return Response(stream_with_context(chain([first], chunks)), mimetype="text/csv", headers=headers)

    return app


def _known(table) -> bool:
    return isinstance(table, str) and table in BROWSABLE


def _valid(model) -> bool:
    try:
        valid_unicode(model)
    except FilterError:
        return False
    return True


def _reason(error: DBAPIError) -> str:
    """The driver's first line (e.g. the statement timeout), never the SQL."""
    return one_line(error.orig) if error.orig else type(error).__name__


def one_line(error: BaseException) -> str:
    """An error's first line, bounded, with invisible characters shown."""
    lines = str(error).splitlines() or [type(error).__name__]
    return visible_text(lines[0][:200])


def shown_value(value):
    """A cell as the grid shows it: attacker text with its bidi overrides and
    other invisible characters made visible, so no cell displays spoofed text."""
    value = grid_value(value)
    return visible_text(value) if isinstance(value, str) else value
