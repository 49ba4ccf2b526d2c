"""The S3 path over real HTTP, against moto's standalone server."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

from botocore.awsrequest import AWSResponse
from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.cloudfront.load import load_object
from netsift.ingest.s3_clients import s3_client
from netsift.ingest.sources import Window, list_s3
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA


def put_many(s3, keys, body=b""):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=s3.bucket, Key=k, Body=body), keys))


def counting(client, operation):
    calls = []
    client.meta.events.register(
        f"before-send.s3.{operation}", lambda request, **_: calls.append(request.url)
    )
    return calls


def test_listing_pages_through_more_than_a_thousand_keys(s3):
    keys = [f"cf/E1.2024-03-01-{h:02d}.{i:04d}.gz" for h in range(2) for i in range(650)]
    put_many(s3, keys)
    client = s3_client()
    calls = counting(client, "ListObjectsV2")
    listed = list(list_s3(client, f"s3://{s3.bucket}/cf", Window.of()))
    assert sorted(o.uri for o in listed) == sorted(f"s3://{s3.bucket}/{k}" for k in keys)
    assert len(calls) == 2  # 1,300 keys at 1,000 a page
    assert all(o.etag and o.size == 0 and o.last_modified for o in listed)


def test_distribution_and_dates_narrow_the_listing_by_prefix(s3):
    keys = [
        f"cf/{dist}.2024-03-{day:02d}-{hour:02d}.u{n}.gz"
        for dist in ("E1", "E2")
        for day in range(1, 11)
        for hour in (0, 12, 23)
        for n in range(3)
    ]
    put_many(s3, keys)
    client = s3_client()
    calls = counting(client, "ListObjectsV2")
    window = Window.of("E1", "2024-03-04", "2024-03-05")
    listed = sorted(o.name for o in list_s3(client, f"s3://{s3.bucket}/cf", window))
    assert listed == sorted(
        f"E1.2024-03-{d:02d}-{h:02d}.u{n}.gz" for d in (4, 5) for h in (0, 12, 23) for n in range(3)
    )
    # The layout probe (one delimiter page: files at the top, so legacy names),
    # one key's request for each spelling of a v2 folder of E1 (none), then
    # two days, one small page each: the other 162 keys were never listed.
    assert len(calls) == 6 and "prefix=cf%2F&delimiter=%2F" in calls[0]
    assert all("&max-keys=1&" in url for url in calls[1:4])
    assert all("prefix=cf%2FE1.2024-03-0" in url for url in calls[4:])


def test_gzip_and_plain_objects_load_from_s3_whatever_their_names(s3, pg):
    def content(request_id: str) -> bytes:  # distinct: the same content would load once
        return log_text(line(cs_uri_stem="/from-s3", x_edge_request_id=request_id)).encode()

    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2024-03-01-00.a.gz", Body=gzip.compress(content("a")))
    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2024-03-01-00.b.gz", Body=content("b"))  # plain, .gz name
    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2024-03-01-00.c", Body=gzip.compress(content("c")))
    client, settings = s3_client(), Settings(database_url=pg)
    objects = list(list_s3(client, f"s3://{s3.bucket}/cf/", Window.of()))
    results = [load_object(engine_for(pg), o, settings, client) for o in objects]
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 1)] * 3
    with engine_for(pg).connect() as conn:
        assert conn.execute(
            text("SELECT COUNT(*) FROM cloudfront_requests WHERE cs_uri_stem = '/from-s3' AND distribution_id = 'E1'")
        ).scalar() == 3
        etags = conn.execute(text("SELECT etag FROM source_objects ORDER BY uri")).scalars().all()
    assert etags == [o.etag for o in sorted(objects, key=lambda o: o.uri)]
    again = [load_object(engine_for(pg), o, settings, client) for o in objects]
    assert {r.status for r in again} == {"skipped"}


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def test_s3_503s_are_retried_by_botocore(s3, pg):
    sample = (DATA / "cloudfront" / "samples" / "rkalla-cloudfront-log-parser" / "example-100.gz").read_bytes()
    # Named for the day its requests are on, so that on PostgreSQL the day's
    # partition is made before the read (a day met only in the rows costs a
    # second read, which would blur the count of attempts).
    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2011-04-27-00.r.gz", Body=sample)
    client = s3_client()
    attempts = []

    def flaky(request, **_):
        attempts.append(request.url)
        if len(attempts) <= 2:
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            return AWSResponse(request.url, 503, {}, _Raw(body))
        return None  # let the real request through

    client.meta.events.register("before-send.s3.GetObject", flaky)
    (obj,) = list_s3(client, f"s3://{s3.bucket}/cf/", Window.of())
    result = load_object(engine_for(pg), obj, Settings(database_url=pg), client)
    assert (result.status, result.rows_loaded) == ("loaded", 100)
    assert len(attempts) == 3


def test_object_replaced_after_listing_is_not_loaded_under_the_old_etag(s3, pg):
    s3.put_object(Bucket=s3.bucket, Key="cf/x.log", Body=log_text(line()).encode())
    client = s3_client()
    (obj,) = list_s3(client, f"s3://{s3.bucket}/cf/", Window.of())
    s3.put_object(Bucket=s3.bucket, Key="cf/x.log", Body=log_text(line(), line()).encode())
    from botocore.exceptions import ClientError

    import pytest

    with pytest.raises(ClientError, match="PreconditionFailed|412"):
        load_object(engine_for(pg), obj, Settings(database_url=pg), client)
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cloudfront_requests")).scalar() == 0


def test_captures_load_from_s3(s3, pg):
    from netsift.capture.load import load_capture

    capture = (DATA / "zeek" / "mixed-vlan-mpls.pcap").read_bytes()
    s3.put_object(Bucket=s3.bucket, Key="sensor/a.pcap.gz", Body=gzip.compress(capture))
    client = s3_client()
    (obj,) = list_s3(client, f"s3://{s3.bucket}/sensor/", Window.of())
    result = load_capture(engine_for(pg), obj, Settings(database_url=pg), client)
    assert result.status == "loaded" and result.rows_by_table["connections"] == 3
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT etag FROM source_objects")).scalar() == obj.etag
        assert conn.execute(text("SELECT COUNT(*) FROM http_requests")).scalar() == 2


def test_a_loaded_capture_is_not_downloaded_again(s3, pg):
    from netsift.capture.load import load_capture

    s3.put_object(Bucket=s3.bucket, Key="sensor/b.pcap",
                  Body=(DATA / "zeek" / "dns53.pcap").read_bytes())  # fmt: skip
    client = s3_client()
    downloads = counting(client, "GetObject")
    (obj,) = list_s3(client, f"s3://{s3.bucket}/sensor/", Window.of())
    assert load_capture(engine_for(pg), obj, Settings(database_url=pg), client).status == "loaded"
    assert len(downloads) == 1
    assert load_capture(engine_for(pg), obj, Settings(database_url=pg), client).status == "skipped"
    assert len(downloads) == 1  # the ledger answered; the bytes stayed in S3
