"""Loading one CloudFront object exactly once.

dlt's lesson: one source object is the unit of incremental loading. Its rows
and its ledger row commit together (netsift/ingest/ledger.py), so a failed run resumes
where it stopped and a rerun never duplicates.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Engine

from netsift.schema import CLOUDFRONT_COPY_COLUMNS, cloudfront_requests, rejected_records
from netsift.settings import Settings
from netsift.ingest import ledger
from netsift.cloudfront.parse import PARSER_VERSION, LogParser, NotCloudFrontLog
from netsift.partitions import TooManyDays, guarded_rows, known_days, loaded_with_days, prepare_days
from netsift.ingest.ledger import ObjectResult
from netsift.ingest.writer import copy_rows, insert_dicts
from netsift.cloudfront.v2 import parquet_rows
from netsift.ingest.reading import UnreadableObject, buffered, is_parquet, read_to_end, spooled, text_lines
from netsift.ingest.sources import SourceObject, open_body

KIND = "cloudfront"
TABLES = (cloudfront_requests.name,)
TS_INDEX = CLOUDFRONT_COPY_COLUMNS.index("ts")


def _placed(row) -> tuple[str, object]:
    return TABLES[0], row[TS_INDEX]


def load_object(
    engine: Engine, obj: SourceObject, settings: Settings, s3_client=None
) -> ObjectResult:
    """Load one object, or skip it if this exact version is loaded already.

    Unreadable objects are recorded as failed and reported, not raised: the
    run goes on with the other objects. Transient errors (S3, network,
    database) are raised so the caller's retries can take them.
    """

    def write(conn: Connection, object_id: int) -> ObjectResult:
        def guarded(rows):
            """On a partitioned table, rows only for days that have a partition."""
            known = known_days(conn, TABLES)
            return guarded_rows(rows, known, _placed, settings.max_new_days_per_object) if known else rows

        parser = LogParser(
            source_object_id=object_id,
            distribution_id=obj.distribution_id,
            raw_line_max_chars=settings.raw_line_max_chars,
        )
        content = hashlib.sha256()
        stored = None if obj.etag else hashlib.sha256()  # a local file's identity, hashed as it is read
        body = buffered(open_body(obj, s3_client), stored)
        try:
            if is_parquet(body):
                spool = spooled(body, max_total_bytes=settings.max_decompressed_bytes, digest=content)
                with spool:
                    copy_rows(
                        conn, cloudfront_requests, CLOUDFRONT_COPY_COLUMNS,
                        guarded(parquet_rows(parser, spool)), settings.copy_chunk_rows,
                    )  # fmt: skip
            else:
                lines = text_lines(
                    body,
                    max_line_bytes=settings.max_line_bytes,
                    max_total_bytes=settings.max_decompressed_bytes,
                    digest=content,
                )
                copy_rows(
                    conn, cloudfront_requests, CLOUDFRONT_COPY_COLUMNS,
                    guarded(parser.rows(lines)), settings.copy_chunk_rows,
                )  # fmt: skip
            if stored is not None:
                read_to_end(body)
        finally:
            body.close()
        insert_dicts(
            conn,
            rejected_records,
            [{"source_object_id": object_id, **vars(r)} for r in parser.rejected],
        )
        # The hash is complete once every line is read; the ledger claims it at commit.
        return ObjectResult(obj.uri, ledger.LOADED, parser.rows_parsed, parser.rejected_count,
                            content_sha256=content.hexdigest(),
                            stored_sha256=stored.hexdigest() if stored else None)  # fmt: skip

    prepare_days(engine, [obj.hour.date() if obj.hour else None], TABLES)
    return loaded_with_days(engine, lambda: ledger.load_once(
        engine,
        obj,
        kind=KIND,
        parser_version=PARSER_VERSION,
        tables=(cloudfront_requests,),
        write=write,
        data_errors=(UnreadableObject, NotCloudFrontLog, TooManyDays),
        synchronous_commit=settings.load_synchronous_commit,
        write_hashes_stored=True,
    ), TABLES, obj.uri)  # fmt: skip
