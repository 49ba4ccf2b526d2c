"""What the console browses: netsift's tables, the two classified views and
the analyst views, as Core tables with known column types on every dialect.

The views are described here rather than reflected, because SQLite gives a
view's computed columns (is_bot, ...) no type, and the console needs each
column's kind to pick its filter and its text form.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ARRAY, JSON, BigInteger, Boolean, Column, Date, DateTime, MetaData, Table, Text
from sqlalchemy.types import Float, Integer, Numeric

from netsift import schema

_views = MetaData()


def _classified(view: str, base: Table) -> Table:
    return Table(
        view,
        _views,
        *(Column(c.name, c.type, nullable=c.nullable) for c in base.columns),
        Column("is_bot", Boolean),
        Column("bot_category", Text),
        Column("is_probe", Boolean),
        Column("probe_category", Text),
        Column("is_human", Boolean),
        # Migration 0012: the client's network and crawler impersonation.
        Column("client_country", Text),
        Column("client_asn", BigInteger),
        Column("client_as_org", Text),
        Column("crawler_claim", Text),
        Column("impersonated_crawler", Boolean),
    )


def _analyst(view: str, *columns: tuple[str, object]) -> Table:
    """One of migration 0004's (and 0007's) analyst views."""
    return Table(view, _views, *(Column(name, type_) for name, type_ in columns))


def _analyst_view(table: Table, key: tuple[str, ...], label: str, sort: tuple[tuple[str, str], ...]) -> "Browsable":
    """Shown in the view's own column order: the question's key first."""
    return Browsable(table, key, label, tuple(table.c.keys()), sort)


_SEEN = (("first_seen", DateTime(timezone=True)), ("last_seen", DateTime(timezone=True)))


@dataclass(frozen=True)
class Browsable:
    """A table the console shows, and the columns that make its order total
    (so paging never repeats or skips a row among equal sort values)."""

    table: Table
    order_key: tuple[str, ...]
    label: str
    lead: tuple[str, ...] = ()
    # The order before the analyst picks one: (column, "asc" | "desc") pairs;
    # empty means newest first by the time column.
    default_sort: tuple[tuple[str, str], ...] = ()

    @property
    def display_order(self) -> list[str]:
        """What an analyst reads first, then the rest, then the row keys."""
        keys = [c for c in self.order_key + ("id", "source_object_id", "line_number")
                if c in self.table.c and c not in self.lead]
        rest = [c.name for c in self.table.c if c.name not in self.lead and c.name not in keys]
        return [*self.lead, *rest, *dict.fromkeys(keys)]

    @property
    def name(self) -> str:
        return self.table.name

    def column(self, name: str) -> Column:
        """The column, if `name` is one of this table's; never a name taken
        on trust from the browser."""
        if not isinstance(name, str) or name not in self.table.c:
            raise UnknownColumn(f"{self.name} has no column {str(name)[:80]!r}")
        return self.table.c[name]

    @property
    def time_column(self) -> str | None:
        return next((c for c in ("ts", "last_seen", "updated_at") if c in self.table.c), None)


class UnknownColumn(ValueError):
    pass


BROWSABLE: dict[str, Browsable] = {
    b.name: b
    for b in (
        Browsable(
            _classified("cloudfront_requests_classified", schema.cloudfront_requests),
            ("source_object_id", "line_number"),
            "CloudFront requests",
            ("ts", "c_ip", "cs_method", "cs_host", "cs_uri_stem", "cs_uri_query", "sc_status", "sc_bytes",
             "is_bot", "bot_category", "is_probe", "probe_category", "is_human", "cs_user_agent", "cs_referer"),
        ),
        Browsable(
            _classified("http_requests_classified", schema.http_requests), ("id",), "PCAP HTTP requests",
            ("ts", "orig_h", "method", "host", "uri", "status_code", "response_body_len", "resp_mime_types",
             "is_bot", "bot_category", "is_probe", "probe_category", "is_human", "user_agent", "referrer"),
        ),
        Browsable(schema.connections, ("source_object_id", "uid"), "PCAP connections"),
        Browsable(schema.dns_queries, ("id",), "PCAP DNS queries"),
        Browsable(schema.extracted_files, ("id",), "Files carried over HTTP"),
        Browsable(schema.alerts, ("id",), "Alerts",
                  ("last_seen", "rule", "severity", "source", "client_ip", "hits", "distinct_paths")),
        Browsable(schema.source_objects, ("id",), "Source objects (ingest ledger)"),
        Browsable(schema.rejected_records, ("id",), "Rejected records"),
        _analyst_view(
            _analyst("uri_traffic", ("uri", Text), ("requests", BigInteger), ("human_requests", BigInteger),
                     ("bot_requests", BigInteger), ("probe_requests", BigInteger), ("clients", BigInteger),
                     ("bytes_sent", BigInteger), *_SEEN),
            ("uri",), "Traffic per URI", (("requests", "desc"),),
        ),
        _analyst_view(
            _analyst("human_referrers", ("referrer", Text), ("requests", BigInteger), ("clients", BigInteger),
                     *_SEEN),
            ("referrer",), "Referrers of human requests", (("requests", "desc"),),
        ),
        _analyst_view(
            _analyst("probes_by_client", ("source", Text), ("client_ip", Text), ("probe_category", Text),
                     ("requests", BigInteger), ("distinct_paths", BigInteger), ("answered_2xx", BigInteger),
                     *_SEEN),
            ("source", "client_ip", "probe_category"), "Probes per client", (("requests", "desc"),),
        ),
        _analyst_view(
            _analyst("bot_share_daily", ("day", Date), ("client_kind", Text), ("requests", BigInteger)),
            ("day", "client_kind"), "Requests per day and kind of client",
            (("day", "desc"), ("requests", "desc")),
        ),
    )
}


def browsable(name: str) -> Browsable:
    try:
        return BROWSABLE[name]
    except (KeyError, TypeError):
        raise UnknownColumn(f"no browsable table {str(name)[:80]!r}") from None


def kind_of(column: Column) -> str:
    """text | number | bool | date | list | json: decides the filter the grid
    offers and how the server compares."""
    type_ = column.type
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, DateTime):
        return "date"
    if isinstance(type_, (Integer, Float, Numeric)):
        return "number"
    if isinstance(type_, ARRAY):
        return "list"
    if isinstance(type_, JSON):
        return "json"
    return "text"
