"""Loading one capture exactly once into the Zeek-style tables.

The capture is fetched (from S3) and inflated (if gzip) inside a private
temporary directory under names netsift chooses, dissected, and its rows
streamed to the database in chunks, all in the object's one transaction.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from netsift.partitions import (
    CAPTURE_TABLES, MissingPartitions, TooManyDays, guarded_rows, loaded_with_days, partition_days,
)  # fmt: skip
from netsift.schema import (
    connections,
    dns_queries,
    extracted_files,
    http_requests,
    pcap_files,
    source_objects,
)
from netsift.settings import Settings
from netsift.ingest import ledger
from netsift.capture.conn import CONNECTION_COLUMNS, epoch_to_datetime
from netsift.capture.dissect import Limits, capture_info, dissect, ensure_uncompressed
from netsift.capture.pcapfile import first_packet_time
from netsift.capture.dns import DNS_COLUMNS
from netsift.capture.http import FILE_COLUMNS, HTTP_COLUMNS
from netsift.capture.tshark import CaptureError
from netsift.ingest.ledger import ObjectResult
from netsift.ingest.writer import copy_rows
from netsift.ingest.sources import SourceObject, local_path, open_body

KIND = "pcap"
PARSER_VERSION = "pcap-5"  # 5: tunnels' inner flows, unknown_transport, Zeek's TCP states and zero-duration rule; 4: URIs decoded as Zeek logs them; HTTP tshark does not dissect (0.9, QUERY); range requests as one file; out-of-order segments reassembled
TABLES = {
    "connections": (connections, CONNECTION_COLUMNS),
    "dns_queries": (dns_queries, DNS_COLUMNS),
    "http_requests": (http_requests, HTTP_COLUMNS),
    "extracted_files": (extracted_files, FILE_COLUMNS),
}
TS_INDEX = {name: columns.index("ts") for name, (_, columns) in TABLES.items()}


# Folders of captures often hold notes and Zeek logs beside them: these names
# are never captures. Anything else is opened, and fails by its bytes if it is not one.
DOCUMENTATION_SUFFIXES = (".md", ".txt", ".log", ".json", ".csv", ".yml", ".yaml", ".html")


def is_documentation(name: str) -> bool:
    return name.lower().endswith(DOCUMENTATION_SUFFIXES)


def fetch(obj: SourceObject, workdir: Path, s3_client, max_bytes: int) -> Path:
    """A local path to the object's bytes: local files as they are, S3
    objects streamed into `workdir` under a name of our own."""
    if not obj.uri.startswith("s3://"):
        return local_path(obj.uri)
    target, written = workdir / "object", 0
    body = open_body(obj, s3_client)
    try:
        with target.open("wb") as sink:
            while chunk := body.read(1 << 20):
                written += len(chunk)
                if written > max_bytes:
                    raise CaptureError(f"object exceeds the cap of {max_bytes} bytes")
                sink.write(chunk)
    finally:
        body.close()
    return target


def load_capture(engine: Engine, obj: SourceObject, settings: Settings, s3_client=None) -> ObjectResult:
    limits = Limits.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="netsift-capture-") as scratch:
        workdir = Path(scratch)  # mode 0700: mkdtemp's own
        fetched: list[Path] = []  # kept for a second round, after new days are made

        def write(conn: Connection, object_id: int) -> ObjectResult:
            # Fetched only now, once the ledger says this version is not loaded:
            # a scheduled run skips what it has without downloading it again.
            if not fetched:
                stored = fetch(obj, workdir, s3_client, limits.max_capture_bytes)
                fetched.append(ensure_uncompressed(stored, workdir, limits.max_capture_bytes))
            capture = fetched[0]
            info = capture_info(capture)
            twin = _loaded_twin(conn, info.sha256, object_id)
            if twin:
                return ObjectResult(obj.uri, ledger.SKIPPED, error=f"same capture as {twin}")
            rows = _guarded(conn, dissect(capture, object_id, info, limits), first_packet_time(capture),
                            settings.max_new_days_per_object)  # fmt: skip
            counts = _write_rows(conn, rows, settings.copy_chunk_rows)
            conn.execute(insert(pcap_files).values(
                source_object_id=object_id, sha256=info.sha256, md5=info.md5,
                size_bytes=info.size_bytes, packets=info.packets, link_type=info.link_type,
                first_ts=epoch_to_datetime(info.first_ts) if info.first_ts else None,
                last_ts=epoch_to_datetime(info.last_ts) if info.last_ts else None,
            ))  # fmt: skip
            status = ledger.PARTIAL if info.partial else ledger.LOADED
            return ObjectResult(
                obj.uri, status, sum(counts.values()), error=info.partial, rows_by_table=counts
            )

        return loaded_with_days(engine, lambda: ledger.load_once(
            engine,
            obj,
            kind=KIND,
            parser_version=PARSER_VERSION,
            tables=(pcap_files, *(table for table, _ in TABLES.values())),
            write=write,
            data_errors=(CaptureError, TooManyDays),
            synchronous_commit=settings.load_synchronous_commit,
        ), CAPTURE_TABLES, obj.uri)  # fmt: skip


def _guarded(conn: Connection, rows, first: float | None, max_new_days: int):
    """On partitioned tables (PostgreSQL), rows only for days that have a partition.

    The first packet's day (read from the capture's framing, pcap or pcapng)
    is checked before tshark runs: a capture of a new day gives up its
    transaction at once, the day is made, and the capture is read again.
    Other new days (a capture over midnight) are learnt by dissecting to the end.
    """
    known = partition_days(conn, CAPTURE_TABLES)
    if not known:
        return rows
    if first is not None:
        day = epoch_to_datetime(first).date()
        if any(day not in days for days in known.values()):
            raise MissingPartitions({day})
    return guarded_rows(rows, known, lambda item: (item[0], item[1][TS_INDEX[item[0]]]), max_new_days)


def _loaded_twin(conn: Connection, sha256: str, object_id: int) -> str | None:
    """The URI under which these exact capture bytes are already loaded."""
    return conn.execute(
        select(source_objects.c.uri)
        .join(pcap_files, pcap_files.c.source_object_id == source_objects.c.id)
        .where(pcap_files.c.sha256 == sha256, source_objects.c.id != object_id)
    ).scalar()


def _write_rows(conn: Connection, rows, chunk_rows: int) -> dict[str, int]:
    """COPY each table's rows in chunks, so memory holds one chunk per table."""
    buffers: dict[str, list] = {name: [] for name in TABLES}
    counts = dict.fromkeys(TABLES, 0)
    for table_name, row in rows:
        buffer = buffers[table_name]
        buffer.append(row)
        if len(buffer) >= chunk_rows:
            counts[table_name] += _flush(conn, table_name, buffer)
    for table_name, buffer in buffers.items():
        counts[table_name] += _flush(conn, table_name, buffer)
    return counts


def _flush(conn: Connection, table_name: str, buffer: list) -> int:
    if not buffer:
        return 0
    table, columns = TABLES[table_name]
    written = copy_rows(conn, table, columns, buffer)
    buffer.clear()
    return written
