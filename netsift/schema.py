"""The tables, in SQLAlchemy Core: a public interface analysts query by name.

Change a name only through an Alembic migration (see netsift/migrations/); the test
`test_schema.py` fails when this file and the migrations disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments a column declared exactly INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)

source_objects = Table(
    "source_objects",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uri", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False, comment="cloudfront | pcap"),
    Column("etag", Text, comment="S3 ETag, or sha256 of a local file's bytes"),
    Column("size_bytes", BigInteger),
    Column("last_modified", Timestamp),
    Column("status", Text, nullable=False, comment="loaded | partial | failed"),
    Column("rows_loaded", BigInteger, nullable=False, default=0),
    Column("rows_rejected", BigInteger, nullable=False, default=0),
    Column("error", Text),
    Column("parser_version", Text, nullable=False),
    Column("first_seen_at", Timestamp, nullable=False),
    Column("loaded_at", Timestamp),
    Column("updated_at", Timestamp, nullable=False),
    Column("content_sha256", Text, comment="sha256 of the decompressed bytes"),
    # A content loads once, whatever the object's name or compression: a copy
    # under another name is recorded `duplicate` (netsift/ingest/ledger.py).
    Index(
        "ix_source_objects_content_sha256",
        "content_sha256",
        unique=True,
        postgresql_where=text("status IN ('loaded', 'partial')"),
        sqlite_where=text("status IN ('loaded', 'partial')"),
    ),
    Index("ix_source_objects_loaded_at", "loaded_at"),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "source_object_id",
        Id,
        ForeignKey("source_objects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("line_number", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw_line", Text, comment="cut to a bounded length"),
)

# Order matters: it is the COPY column order, and the layout analysts see.
CLOUDFRONT_FIELD_COLUMNS: tuple[tuple[str, object], ...] = (
    ("x_edge_location", Text),
    ("sc_bytes", BigInteger),
    ("c_ip", Text),
    ("cs_method", Text),
    ("cs_host", Text),
    ("cs_uri_stem", Text),
    ("sc_status", Integer),
    ("cs_referer", Text),
    ("cs_user_agent", Text),
    ("cs_uri_query", Text),
    ("cs_cookie", Text),
    ("x_edge_result_type", Text),
    ("x_edge_request_id", Text),
    ("x_host_header", Text),
    ("cs_protocol", Text),
    ("cs_bytes", BigInteger),
    ("time_taken", Float),
    ("x_forwarded_for", Text),
    ("ssl_protocol", Text),
    ("ssl_cipher", Text),
    ("x_edge_response_result_type", Text),
    ("cs_protocol_version", Text),
    ("fle_status", Text),
    ("fle_encrypted_fields", Integer),
    ("c_port", Integer),
    ("time_to_first_byte", Float),
    ("x_edge_detailed_result_type", Text),
    ("sc_content_type", Text),
    ("sc_content_len", BigInteger),
    ("sc_range_start", BigInteger),
    ("sc_range_end", BigInteger),
)

# Columns for the v2 fields analysts use; each is as CloudFront logged it.
CLOUDFRONT_V2_COLUMNS: tuple[tuple[str, object, str], ...] = (
    ("ts_ms", Timestamp, "request time to the millisecond (v2 timestamp(ms) or timestamp), UTC"),
    ("c_country", Text, "viewer country, ISO 3166-1 alpha-2, by CloudFront's own lookup (v2 c-country)"),
    ("asn", BigInteger, "viewer's autonomous system number, by CloudFront's own lookup (v2 asn)"),
    ("cache_behavior_path_pattern", Text, "the cache behavior that served the request (v2)"),
    ("origin_fbl", Float, "origin first-byte latency, seconds (v2 origin-fbl)"),
    ("origin_lbl", Float, "origin last-byte latency, seconds (v2 origin-lbl)"),
)

cloudfront_requests = Table(
    "cloudfront_requests",
    metadata,
    Column(
        "source_object_id",
        Id,
        ForeignKey("source_objects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("line_number", BigInteger, nullable=False, comment="1-based line in the object"),
    Column("ts", Timestamp, nullable=False, comment="date + time, UTC"),
    Column("distribution_id", Text),
    *(Column(name, type_) for name, type_ in CLOUDFRONT_FIELD_COLUMNS),
    # Standard logging (v2) fields, migration 0011; NULL for legacy logs.
    *(Column(name, type_, comment=comment) for name, type_, comment in CLOUDFRONT_V2_COLUMNS),
    PrimaryKeyConstraint("source_object_id", "line_number"),
    Index("ix_cloudfront_requests_ts", "ts"),
    # Not unique: real logs repeat request ids.
    Index("ix_cloudfront_requests_x_edge_request_id", "x_edge_request_id"),
    # Detection joins paths and groups by client (migration 0003).
    Index("ix_cloudfront_requests_cs_uri_stem", "cs_uri_stem"),
    Index("ix_cloudfront_requests_c_ip", "c_ip"),
)

# `netsift browse`: "largest responses first" over millions of rows walks this
# index instead of sorting the table (migration 0005). Empty values sort last,
# as the console orders them; SQLite cannot say so in an index and gets DESC.
Index(
    "ix_cloudfront_requests_sc_bytes",
    cloudfront_requests.c.sc_bytes.desc().nulls_last(),
)

CLOUDFRONT_COPY_COLUMNS: tuple[str, ...] = tuple(c.name for c in cloudfront_requests.columns)


# --- Packet captures: Zeek-style tables (id.orig_h written orig_h) ----------

# Ordered lists: PostgreSQL arrays; SQLite has none, so JSON text there.
TextList = ARRAY(Text).with_variant(JSON(), "sqlite")
FloatList = ARRAY(Float).with_variant(JSON(), "sqlite")


def _capture_ref() -> Column:
    return Column(
        "source_object_id",
        Id,
        ForeignKey("source_objects.id", ondelete="CASCADE"),
        nullable=False,
        comment="the capture (source_objects.id = pcap_files.source_object_id)",
    )


def _endpoints() -> list[Column]:
    return [
        Column("orig_h", Text),
        Column("orig_p", Integer),
        Column("resp_h", Text),
        Column("resp_p", Integer),
    ]


COMMUNITY_ID_COMMENT = "Community ID v1 of the connection (joins with Zeek, Suricata, Elastic)"

pcap_files = Table(
    "pcap_files",
    metadata,
    Column("source_object_id", Id, ForeignKey("source_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("sha256", Text, nullable=False, unique=True, comment="a capture loads once, whatever its name"),
    Column("md5", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("packets", BigInteger),
    Column("first_ts", Timestamp),
    Column("last_ts", Timestamp),
    Column("link_type", Text),
)

connections = Table(
    "connections",
    metadata,
    _capture_ref(),
    Column("ts", Timestamp, nullable=False),
    Column("uid", Text, nullable=False),
    *_endpoints(),
    Column("proto", Text, nullable=False, comment="tcp | udp | icmp"),
    Column("service", Text),
    Column("duration", Float),
    Column("orig_bytes", BigInteger),
    Column("resp_bytes", BigInteger),
    Column("orig_pkts", BigInteger),
    Column("resp_pkts", BigInteger),
    Column("conn_state", Text),
    Column("community_id", Text, comment=COMMUNITY_ID_COMMENT),
    PrimaryKeyConstraint("source_object_id", "uid"),
    Index("ix_connections_ts", "ts"),
    Index("ix_connections_orig_h", "orig_h"),
    Index("ix_connections_community_id", "community_id"),
)

dns_queries = Table(
    "dns_queries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _capture_ref(),
    Column("ts", Timestamp, nullable=False),
    Column("uid", Text, nullable=False),
    *_endpoints(),
    Column("proto", Text),
    Column("trans_id", Integer),
    Column("query", Text),
    Column("qtype_name", Text),
    Column("rcode_name", Text),
    Column("answers", TextList, comment="in answer order"),
    Column("ttls", FloatList, comment="seconds, in answer order"),
    Column("community_id", Text, comment=COMMUNITY_ID_COMMENT),
    Index("ix_dns_queries_source_object_id", "source_object_id"),
    Index("ix_dns_queries_query", "query"),
    Index("ix_dns_queries_community_id", "community_id"),
)

http_requests = Table(
    "http_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _capture_ref(),
    Column("ts", Timestamp, nullable=False),
    Column("uid", Text, nullable=False),
    *_endpoints(),
    Column("method", Text),
    Column("host", Text),
    Column("uri", Text),
    Column("referrer", Text),
    Column("user_agent", Text),
    Column("status_code", Integer),
    Column("resp_mime_types", TextList),
    Column("request_body_len", BigInteger),
    Column("response_body_len", BigInteger),
    Column("community_id", Text, comment=COMMUNITY_ID_COMMENT),
    Column("amz_cf_id", Text,
           comment="X-Amz-Cf-Id request header: the CloudFront x_edge_request_id behind this request"),
    Column("x_forwarded_for", Text, comment="X-Forwarded-For request header, as sent (not trusted)"),
    Index("ix_http_requests_source_object_id", "source_object_id"),
    Index("ix_http_requests_ts", "ts"),
    Index("ix_http_requests_community_id", "community_id"),
    Index("ix_http_requests_amz_cf_id", "amz_cf_id"),
)

extracted_files = Table(
    "extracted_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _capture_ref(),
    # Its request's time, else its connection's start (never NULL since 0014: a partition key).
    Column("ts", Timestamp, nullable=False),
    Column("uid", Text, nullable=False, comment="the connection that carried it"),
    Column("host", Text),
    Column("uri", Text),
    Column("size", BigInteger, nullable=False),
    Column("mime_type", Text),
    Column("file_type", Text, comment="libmagic's description"),
    Column("md5", Text, nullable=False),
    Column("sha1", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("entropy", Float, comment="Shannon entropy, bits per byte"),
    Column("ssdeep", Text, comment="ssdeep fuzzy hash (libfuzzy)"),
    Index("ix_extracted_files_source_object_id", "source_object_id"),
    Index("ix_extracted_files_sha256", "sha256"),
)


# --- Detection ----------------------------------------------------------------

# One verdict per distinct string: classification runs over distinct values,
# never per request. NULL user agents are keyed as ''.
user_agent_verdicts = Table(
    "user_agent_verdicts",
    metadata,
    Column("user_agent", Text, primary_key=True),
    Column("is_bot", Boolean, nullable=False),
    Column("bot_category", Text),
    Column("rule_id", Text),
    Column("rules_version", Text, nullable=False),
    Column("crawler_claim", Text, comment="the crawler operator this user agent says it is (crawler_networks.yaml)"),
)

# One row per distinct client address, looked up offline once
# (netsift/detection/geoip.py); the classified views join it.
client_networks = Table(
    "client_networks",
    metadata,
    Column("client_ip", Text, primary_key=True, comment="c_ip or orig_h, as stored"),
    Column("country", Text, comment="ISO 3166 alpha-2, from the address database"),
    Column("asn", BigInteger, comment="autonomous system number (MaxMind ASN files only)"),
    Column("as_org", Text, comment="autonomous system organisation"),
    Column("crawler_operators", Text,
           comment="',op1,op2,': crawler operators whose networks hold it; NULL: not a public address"),
    Column("lookup_version", Text, nullable=False, comment="address database and networks file used"),
)

path_verdicts = Table(
    "path_verdicts",
    metadata,
    Column("path", Text, primary_key=True, comment="cs_uri_stem or http_requests.uri, as stored"),
    Column("is_probe", Boolean, nullable=False),
    Column("probe_category", Text),
    Column("strength", Text, comment="strong: a probe anywhere; weak: unless the site serves it"),
    Column("rule_id", Text),
    Column("human_2xx", Boolean, nullable=False, default=False,
           comment="ordinary (non-bot) visitors got a 2xx answer here"),
    Column("rules_version", Text, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rule", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("source", Text, nullable=False, comment="cloudfront | pcap"),
    Column("client_ip", Text, nullable=False),
    Column("window_start", Timestamp, nullable=False),
    Column("first_seen", Timestamp, nullable=False),
    Column("last_seen", Timestamp, nullable=False),
    Column("hits", BigInteger, nullable=False),
    Column("distinct_paths", BigInteger, nullable=False),
    Column("status_codes", Text, comment="distinct status codes, ascending, comma-separated"),
    Column("evidence", JSON, comment="sample paths and user agents"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("notified_at", Timestamp, comment="when its event was emitted; NULL: not yet (the outbox)"),
    UniqueConstraint("rule", "source", "client_ip", "window_start", name="uq_alerts_window"),
    Index("ix_alerts_last_seen", "last_seen"),
    Index("ix_alerts_unnotified", "id", postgresql_where=text("notified_at IS NULL"),
          sqlite_where=text("notified_at IS NULL")),
)

detected_objects = Table(
    "detected_objects",
    metadata,
    Column("source_object_id", Id, ForeignKey("source_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("loaded_at", Timestamp, nullable=False, comment="the object's loaded_at when detection saw it"),
    Column("rules_version", Text, nullable=False),
    Column("detected_at", Timestamp, nullable=False),
)
