"""The console's plots: one aggregate query each, run in the database, and a
Plotly figure whose every bar carries the grid filter that shows its rows.

Labels come from attackers (paths, hosts, user agents), and Plotly reads a
subset of HTML in labels (`<a href>`, `<b>`, `<br>`): they are escaped before
they reach a figure, and the raw value travels only inside the bar's filter.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sqlalchemy import Engine, case, desc, func, literal_column, select

from netsift.console.grid_query import text_form
from netsift.console.tables import Browsable, browsable
from netsift.db import utc_datetime

LABEL_CHARS = 60
TOP = 15
CLASS_COLOURS = {"human": "#4c78a8", "bot": "#f58518", "probe": "#e45756"}


@dataclass(frozen=True)
class RequestSource:
    """Where one kind of request lives, and which columns answer the plots."""

    key: str
    label: str
    table: str
    uri: str
    client: str
    host: str
    mime: str
    bytes: str

    @property
    def view(self) -> Browsable:
        return browsable(self.table)


SOURCES = {
    s.key: s
    for s in (
        RequestSource("cloudfront", "CloudFront", "cloudfront_requests_classified",
                      "cs_uri_stem", "c_ip", "cs_host", "sc_content_type", "sc_bytes"),
        RequestSource("pcap", "PCAP HTTP", "http_requests_classified",
                      "uri", "orig_h", "host", "resp_mime_types", "response_body_len"),
    )
}  # fmt: skip


# --- Filters a click applies (AG Grid's filter model) -------------------------


def text_is(value) -> dict:
    if value is None:
        return {"filterType": "text", "type": "blank"}
    return {"filterType": "text", "type": "equals", "filter": str(value)}


def between(start: datetime, end: datetime) -> dict:
    return {"filterType": "date", "type": "inRange", "dateFrom": _stamp(start), "dateTo": _stamp(end)}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


CLASS_FILTERS = {
    "probe": {"is_probe": text_is("true")},
    "bot": {"is_probe": text_is("false"), "is_bot": text_is("true")},
    "human": {"is_probe": text_is("false"), "is_bot": text_is("false")},
}


def link(table: str, filter_model: dict) -> str:
    """What a bar's click does: show `table` filtered by `filter_model`."""
    return json.dumps({"table": table, "filter": filter_model})


# --- Labels --------------------------------------------------------------------


def label(value, max_chars: int = LABEL_CHARS) -> str:
    """Displayable, never markup: escaped, one line, bounded."""
    text = "(none)" if value is None else str(value)
    text = " ".join(text.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return html.escape(text, quote=False)


def axis_labels(values) -> list[str]:
    """Escaped labels, made distinct: a category axis would merge two long
    paths cut to the same prefix into one bar."""
    seen: dict[str, int] = {}
    labels = []
    for value in values:
        text = label(value)
        seen[text] = seen.get(text, 0) + 1
        labels.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return labels


# --- Time buckets --------------------------------------------------------------

BUCKETS = (("hour", timedelta(days=2)), ("day", timedelta(days=120)), ("month", None))
SQLITE_FORMATS = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00", "month": "%Y-%m-01 00:00:00"}


def bucket_unit(first: datetime | None, last: datetime | None) -> str:
    """Hours for a capture, days for weeks of logs, months for years."""
    if first is None or last is None:
        return "hour"
    return next(unit for unit, span in BUCKETS if span is None or last - first <= span)


def bucket_expr(column, unit: str, dialect: str):
    if dialect == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", column))
    return func.strftime(SQLITE_FORMATS[unit], column)


def bucket_end(start: datetime, unit: str) -> datetime:
    if unit == "month":
        return (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start + (timedelta(hours=1) if unit == "hour" else timedelta(days=1))


def _time_buckets(conn, view: Browsable, time_column: str, series_expr, where=None):
    """Rows of (bucket start, series, count), and the unit used."""
    column = view.table.c[time_column]
    span = select(func.min(column), func.max(column)).select_from(view.table)
    if where is not None:
        span = span.where(where)
    first, last = (utc_datetime(v) for v in conn.execute(span).one())
    unit = bucket_unit(first, last)
    bucket = bucket_expr(column, unit, conn.dialect.name).label("bucket")
    query = select(bucket, series_expr.label("series"), func.count().label("n")).select_from(view.table)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query.group_by(literal_column("bucket"), literal_column("series"))
                        .order_by(literal_column("bucket"))).all()  # fmt: skip
    return [(utc_datetime(b), s, n) for b, s, n in rows], unit


# --- Figures -------------------------------------------------------------------


def _layout(figure: go.Figure, title: str, empty: bool) -> go.Figure:
    figure.update_layout(title=title, barmode="stack", margin=dict(l=10, r=10, t=50, b=10),
                         legend=dict(orientation="h", y=-0.2), template="plotly_white", height=380)  # fmt: skip
    if empty:
        figure.add_annotation(text="No rows yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def unavailable(reason: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=label(reason, 120), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return _layout(figure, "Not available", False)


def bucket_width_ms(unit: str) -> float:
    """Bars as wide as their bucket: a lone bar on a date axis is otherwise a hairline."""
    return {"hour": 3_600_000, "day": 86_400_000, "month": 30 * 86_400_000}[unit] * 0.9


def _bucket_bars(figure: go.Figure, rows, unit: str, series, link_of, colours: dict | None = None) -> None:
    """One trace per (series, label) over time buckets; each bar's click
    shows its series in [bucket start, bucket end)."""
    for key, series_label in series:
        points = [(b, n) for b, s, n in rows if s == key]
        figure.add_bar(
            name=series_label, x=[b for b, _ in points], y=[n for _, n in points],
            marker_color=(colours or {}).get(key), width=[bucket_width_ms(unit)] * len(points),
            customdata=[link_of(b, bucket_end(b, unit), key) for b, _ in points],
        )  # fmt: skip
    figure.update_xaxes(type="date")


def requests_over_time(engine: Engine, source: RequestSource) -> go.Figure:
    view = source.view
    t = view.table.c
    kind = case((t.is_probe, "probe"), (t.is_bot, "bot"), else_="human")
    with engine.connect() as conn:
        rows, unit = _time_buckets(conn, view, "ts", kind)
    figure = go.Figure()
    _bucket_bars(
        figure, rows, unit, [(name, name) for name in CLASS_COLOURS],
        lambda start, end, name: link(view.name, {"ts": between(start, end), **CLASS_FILTERS[name]}),
        CLASS_COLOURS,
    )  # fmt: skip
    return _layout(figure, f"{source.label} requests per {unit}: human, bot, probe", not rows)


def top_and_bottom_uris(engine: Engine, source: RequestSource, n: int = TOP) -> go.Figure:
    view = source.view
    uri = view.table.c[source.uri]
    counted = select(uri, func.count().label("requests")).group_by(uri)
    with engine.connect() as conn:
        top = conn.execute(counted.order_by(desc("requests"), uri).limit(n)).all()
        bottom = conn.execute(counted.order_by("requests", uri).limit(n)).all()
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Most requested", "Least requested"),
                           horizontal_spacing=0.35)  # fmt: skip
    for col, rows in ((1, top), (2, bottom)):
        rows = list(reversed(rows))  # the largest bar on top
        figure.add_bar(
            x=[r.requests for r in rows], y=axis_labels(r[0] for r in rows), orientation="h", showlegend=False,
            customdata=[link(view.name, {source.uri: text_is(r[0])}) for r in rows], row=1, col=col,
            marker_color="#4c78a8",
        )  # fmt: skip
    figure.update_yaxes(type="category")
    return _layout(figure, f"{source.label}: top and bottom URIs by requests", not top)


def bot_categories(engine: Engine, source: RequestSource) -> go.Figure:
    view = source.view
    t = view.table.c
    query = (select(t.bot_category, func.count().label("requests")).where(t.is_bot)
             .group_by(t.bot_category).order_by(desc("requests")))  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    figure = go.Figure()
    figure.add_bar(
        x=axis_labels(r.bot_category for r in rows), y=[r.requests for r in rows], marker_color="#f58518",
        customdata=[link(view.name, {"is_bot": text_is("true"), "bot_category": text_is(r.bot_category)})
                    for r in rows],
    )  # fmt: skip
    figure.update_xaxes(type="category")
    return _layout(figure, f"{source.label}: bot requests by category", not rows)


def _stacked(figure: go.Figure, rows, x_of, series_of, y_of, link_of) -> None:
    """Bars per x, stacked by series, the largest stack first; labels escaped
    and made distinct once."""
    totals: dict = {}
    for r in rows:
        totals[x_of(r)] = totals.get(x_of(r), 0) + y_of(r)
    rows = sorted(rows, key=lambda r: (-totals[x_of(r)], str(x_of(r)), str(series_of(r))))
    xs = list(dict.fromkeys(x_of(r) for r in rows))
    x_labels = dict(zip(xs, axis_labels(xs)))
    series = list(dict.fromkeys(series_of(r) for r in rows))
    for name, series_label in zip(series, axis_labels(series)):
        mine = [r for r in rows if series_of(r) == name]
        figure.add_bar(name=series_label, x=[x_labels[x_of(r)] for r in mine], y=[y_of(r) for r in mine],
                       customdata=[link_of(r) for r in mine])  # fmt: skip
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=[x_labels[x] for x in xs])


def probes_by_client(engine: Engine, source: RequestSource, n: int = TOP) -> go.Figure:
    view = source.view
    t = view.table.c
    client = t[source.client]
    top_clients = (select(client).where(t.is_probe).group_by(client)
                   .order_by(desc(func.count()), client).limit(n).scalar_subquery())  # fmt: skip
    query = (select(client.label("client"), t.probe_category, func.count().label("requests"))
             .where(t.is_probe, client.in_(top_clients)).group_by(client, t.probe_category)
             .order_by(client, t.probe_category))  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    figure = go.Figure()
    _stacked(
        figure, rows, lambda r: r.client, lambda r: r.probe_category, lambda r: r.requests,
        lambda r: link(view.name, {source.client: text_is(r.client), "is_probe": text_is("true"),
                                   "probe_category": text_is(r.probe_category)}),
    )  # fmt: skip
    return _layout(figure, f"{source.label}: probing clients by probe category", not rows)


def bytes_by_host_and_mime(engine: Engine, source: RequestSource, n: int = TOP) -> go.Figure:
    view = source.view
    t = view.table.c
    host, size = t[source.host], t[source.bytes]
    mime = text_form(t[source.mime], engine.dialect.name)
    top_hosts = (select(host).group_by(host).order_by(desc(func.coalesce(func.sum(size), 0)), host)
                 .limit(n).scalar_subquery())  # fmt: skip
    query = (select(host.label("host"), mime.label("mime"), func.coalesce(func.sum(size), 0).label("bytes"))
             .where(host.in_(top_hosts)).group_by(host, literal_column("mime")))  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    figure = go.Figure()
    _stacked(
        figure, rows, lambda r: r.host, lambda r: r.mime, lambda r: r.bytes,
        lambda r: link(view.name, {source.host: text_is(r.host), source.mime: text_is(r.mime or None)}),
    )  # fmt: skip
    figure.update_yaxes(title="response bytes")
    return _layout(figure, f"{source.label}: response bytes by host and MIME type", not rows)


def alerts_over_time(engine: Engine) -> go.Figure:
    view = browsable("alerts")
    with engine.connect() as conn:
        rows, unit = _time_buckets(conn, view, "first_seen", view.table.c.rule)
    figure = go.Figure()
    rules = list(dict.fromkeys(s for _, s, _ in rows))
    _bucket_bars(
        figure, rows, unit, list(zip(rules, axis_labels(rules))),
        lambda start, end, rule: link("alerts", {"first_seen": between(start, end), "rule": text_is(rule)}),
    )  # fmt: skip
    return _layout(figure, f"Alerts per {unit}, by rule (first seen)", not rows)


SOURCE_CHARTS = {
    "over-time": requests_over_time,
    "uris": top_and_bottom_uris,
    "bots": bot_categories,
    "probes": probes_by_client,
    "bytes": bytes_by_host_and_mime,
}


def clicked_link(click_data: dict | None) -> dict | None:
    """The table and filter a clicked bar stands for, or None."""
    try:
        target = json.loads(click_data["points"][0]["customdata"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    if not isinstance(target, dict) or not isinstance(target.get("filter"), dict):
        return None
    return target
