"""Settings from the environment (and a `.env` file), in one place.

Secrets (the database password, AWS keys) never pass through flow parameters,
because Prefect stores and displays parameters; they come from here instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///netsift.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NETSIFT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL in production.",
    )
    max_decompressed_bytes: int = Field(
        2 * 1024**3,
        gt=0,
        description="Cap on one object's decompressed size: stops gzip bombs.",
    )
    max_line_bytes: int = Field(
        64 * 1024, gt=0, description="Longest log line accepted; longer ones are rejected."
    )
    copy_chunk_rows: int = Field(
        10_000, gt=0, description="Rows per COPY/INSERT batch: bounds memory per object."
    )
    tshark_timeout_seconds: float = Field(
        900.0, gt=0, description="A tshark pass over one capture is stopped after this long."
    )
    max_capture_bytes: int = Field(
        8 * 1024**3, gt=0, description="Cap on one capture's size, fetched or inflated from gzip."
    )
    max_tshark_line_bytes: int = Field(
        64 * 1024**2, gt=0, description="Longest line of tshark output read for one packet."
    )
    max_http_body_bytes: int = Field(
        64 * 1024**2, gt=0, description="Cap on one HTTP body held for hashing, after decoding."
    )
    max_new_days_per_object: int = Field(
        31, gt=0, description="PostgreSQL: most day partitions one object's rows may add; an object whose "
        "rows fall on more new days fails with the reason (a file naming thousands of days is broken or hostile).",
    )
    task_runner: Literal["threads", "dask"] = Field(
        "threads", description="Where ingest tasks run: a thread pool, or Dask for a cluster."
    )
    workers: int = Field(2, gt=0, description="Threads, or local Dask workers, per ingest run.")
    dask_address: str | None = Field(
        None, description="A Dask scheduler (tcp://host:8786); empty: a local cluster."
    )
    write_limit: str = Field(
        "netsift-database-writes",
        description="Prefect global concurrency limit each batch of loads holds a slot of, when it exists.",
    )
    write_slots: int = Field(
        4, gt=0, description="Objects one process writes at once (a local semaphore, per object)."
    )
    load_synchronous_commit: Literal["on", "off", "local", "remote_write", "remote_apply"] = Field(
        "off",
        description="PostgreSQL's synchronous_commit inside each object's load transaction. 'off' spares "
        "a disk flush per object; after a PostgreSQL crash the last commits (under a second) may be gone, "
        "rows and ledger row together, and the next run loads those objects again. 'on': every load is "
        "on disk when its commit returns.",
    )
    batch_objects: int = Field(
        50, gt=0, description="Most objects one load task takes in turn (small objects share a task run)."
    )
    batch_bytes: int = Field(
        64 * 1024**2, gt=0, description="Most stored bytes one load task takes; a larger object goes alone."
    )
    local_api_idle_seconds: float = Field(
        300.0, ge=0, description="Without PREFECT_API_URL: how long the shared local Prefect API "
        "outlives its last command; 0 serves it inside each command instead.",
    )
    progress_interval_seconds: float = Field(
        1.0, ge=0, description="Least time between two progress updates (artifact and CLI bar)."
    )
    object_retries: int = Field(
        3, ge=0, description="Retries of one object's transient errors (network, database), with backoff."
    )
    retry_delay_seconds: float = Field(
        2.0, ge=0, description="First delay before retrying an object; doubled at each retry."
    )
    outage_after_failures: int = Field(
        3, gt=0, description="Connection failures in a row after which a run stops trying objects."
    )
    s3_max_attempts: int = Field(
        3, gt=0, description="botocore's attempts per S3 request (standard retry mode)."
    )
    s3_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="How long one attempt to connect to S3 may take."
    )
    cloudfront_cron: str = Field(
        "10 * * * *", description="`netsift serve`: when CloudFront logs are pulled (cron, UTC)."
    )
    pcap_cron: str = Field(
        "*/5 * * * *", description="`netsift serve`: when the capture source is read (cron, UTC)."
    )
    detect_cron: str = Field(
        "*/15 * * * *", description="`netsift serve`: when detection runs (cron, UTC)."
    )
    prune_cron: str = Field(
        "30 3 * * *", description="`netsift serve`: when rows past the retention age are removed (cron, UTC)."
    )
    retention: str = Field(
        "90d", description="`netsift serve`'s daily prune: rows older than this go (days or hours: 90d, 36h)."
    )
    raw_line_max_chars: int = Field(
        2_000, gt=0, description="How much of a rejected line is kept for the operator."
    )
    browse_query_timeout_seconds: float = Field(
        30.0, gt=0, description="`netsift browse` stops a PostgreSQL query after this long."
    )
    geoip2fast_file: Path | None = Field(
        None, description="A newer geoip2fast data file (country + ASN, e.g. geoip2fast-asn-ipv6.dat.gz); "
        "empty: the one the package bundles.",
    )
    geoip_country_mmdb: Path | None = Field(
        None, description="Your own MaxMind country (or city) .mmdb: countries come from it instead."
    )
    geoip_asn_mmdb: Path | None = Field(
        None, description="Your own MaxMind ASN .mmdb: AS numbers and organisations come from it instead."
    )
    browse_token: str | None = Field(
        None,
        description="Token `netsift browse` demands when bound beyond loopback (16+ characters).",
    )


def redacted(url: str) -> str:
    """The URL fit for logs and artifacts: passwords hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as nothing rather than leaked
        return "<unparsable database URL>"
