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

import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sqlalchemy import Engine, case, desc, func, literal_column, select

from netsift.console.grid_query import text_form
from netsift.console.tables import Browsable, browsable
from netsift.db import utc_datetime
from netsift.escape import visible_text

LABEL_CHARS = 60
TOP = 15
CLASS_COLOURS = {"human": "#4c78a8", "bot": "#f58518", "probe": "#e45756"}
# One colour per series (MIME type, probe category), none repeated: Plotly's
# default cycle repeats after ten, which drew two MIME types in one green.
PALETTE = tuple(dict.fromkeys(c.upper() for c in plotly.colors.qualitative.D3 + plotly.colors.qualitative.Plotly
                              + plotly.colors.qualitative.Dark24))  # fmt: skip
OTHER_COLOUR = "#BBBBBB"
BAR_PIXELS = 26


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


# Migration 0007's one notion of human traffic: a request is human when its
# user agent is not a bot's and its client never probed and has no alert.
# Every other request that is not itself a probe is a bot's.
CLASS_FILTERS = {
    "probe": {"is_probe": text_is("true")},
    "bot": {"is_probe": text_is("false"), "is_human": text_is("false")},
    "human": {"is_human": text_is("true")},
}


def link(table: str, filter_model: dict) -> str:
    """What a bar's click does: show `table` filtered by `filter_model`."""
    return json.dumps({"table": table, "filter": filter_model})


# --- Labels --------------------------------------------------------------------


def label(value, max_chars: int = LABEL_CHARS) -> str:
    """Displayable, never markup: escaped, one line, bounded, with bidi
    overrides and other invisible characters shown as `<U+202E>`."""
    text = "(none)" if value is None else str(value)
    text = " ".join(visible_text(text, keep="\t\n\r").split())
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


def _layout(figure: go.Figure, title: str, empty: bool, height: int = 380) -> go.Figure:
    """Axes make room for their labels (automargin), the legend sits below
    the plot, and an empty chart says so with no axes: Plotly would draw
    made-up ones (-1 to 4, the year 2000)."""
    figure.update_layout(title=title, barmode="stack", margin=dict(l=10, r=10, t=50, b=10),
                         legend=dict(orientation="h", yanchor="top", y=-0.12, yref="paper"),
                         template="plotly_white", height=height)  # fmt: skip
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    if empty:
        figure.data = ()
        figure.add_annotation(text="no data", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                              font=dict(size=16, color="#666"))  # fmt: skip
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        figure.update_layout(showlegend=False, height=200)
    return figure


def unavailable(reason: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=label(reason, 120), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, "Not available", False, 200)


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
    kind = case((t.is_probe, "probe"), (t.is_human, "human"), else_="bot")
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
    # One above the other, each with the full width for its labels: side by
    # side, long paths ran into the other plot.
    figure = make_subplots(rows=2, cols=1, subplot_titles=("Most requested", "Least requested"),
                           vertical_spacing=0.12)  # fmt: skip
    for row, rows in ((1, top), (2, bottom)):
        rows = list(reversed(rows))  # the largest bar on top
        figure.add_bar(
            x=[r.requests for r in rows], y=axis_labels(r[0] for r in rows), orientation="h", showlegend=False,
            customdata=[link(view.name, {source.uri: text_is(r[0])}) for r in rows], row=row, col=1,
            marker_color="#4c78a8",
        )  # fmt: skip
    figure.update_yaxes(type="category", tickfont=dict(size=11))
    height = 140 + 2 * BAR_PIXELS * max(len(top), len(bottom), 1)
    return _layout(figure, f"{source.label}: top and bottom URIs by requests", not top, height)


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


def _stacked(figure: go.Figure, rows, x_of, series_of, y_of, link_of) -> int:
    """Horizontal bars per x (its label on the left, in full), stacked by
    series, the largest stack on top; labels escaped and made distinct once.
    Each series gets its own colour, the largest series first; past the
    palette, the smallest are drawn together as one grey "(other)" series.
    Returns the number of bars."""
    totals: dict = {}
    series_totals: dict = {}
    for r in rows:
        totals[x_of(r)] = totals.get(x_of(r), 0) + y_of(r)
        series_totals[series_of(r)] = series_totals.get(series_of(r), 0) + y_of(r)
    rows = sorted(rows, key=lambda r: (-totals[x_of(r)], str(x_of(r)), str(series_of(r))))
    xs = list(dict.fromkeys(x_of(r) for r in rows))
    x_labels = dict(zip(xs, axis_labels(xs)))
    series = sorted(series_totals, key=lambda s: (-series_totals[s], str(s)))
    shown, folded = (series, []) if len(series) <= len(PALETTE) else (series[: len(PALETTE) - 1],
                                                                      series[len(PALETTE) - 1 :])  # fmt: skip
    for name, series_label, colour in zip(shown, axis_labels(shown), PALETTE):
        mine = [r for r in rows if series_of(r) == name]
        figure.add_bar(name=series_label, y=[x_labels[x_of(r)] for r in mine], x=[y_of(r) for r in mine],
                       orientation="h", marker_color=colour, customdata=[link_of(r) for r in mine])  # fmt: skip
    if folded:
        other: dict = {}
        for r in rows:
            if series_of(r) in folded:
                other[x_of(r)] = other.get(x_of(r), 0) + y_of(r)
        figure.add_bar(name=f"(other: {len(folded)})", y=[x_labels[x] for x in other], x=list(other.values()),
                       orientation="h", marker_color=OTHER_COLOUR)  # fmt: skip
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=[x_labels[x] for x in reversed(xs)])
    return len(xs)


def _stacked_height(bars: int, series: int) -> int:
    """Room for every bar and, below, for the legend's rows."""
    return 160 + BAR_PIXELS * max(bars, 1) + 22 * ((series + 2) // 3)


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
    bars = _stacked(
        figure, rows, lambda r: r.client, lambda r: r.probe_category, lambda r: r.requests,
        lambda r: link(view.name, {source.client: text_is(r.client), "is_probe": text_is("true"),
                                   "probe_category": text_is(r.probe_category)}),
    )  # fmt: skip
    height = _stacked_height(bars, len(figure.data))
    return _layout(figure, f"{source.label}: probing clients by probe category", not rows, height)


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
    bars = _stacked(
        figure, rows, lambda r: r.host, lambda r: r.mime, lambda r: r.bytes,
        lambda r: link(view.name, {source.host: text_is(r.host), source.mime: text_is(r.mime or None)}),
    )  # fmt: skip
    height = _stacked_height(bars, len(figure.data))
    return _layout(figure, f"{source.label}: response bytes by host and MIME type", not rows, height)


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


# Charts whose labels are long (paths, host names): the whole row is theirs.
WIDE_CHARTS = {"uris", "bytes"}
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
