"""`make bench-listing`: what the hourly run's listing costs without --distribution.

50,040 legacy keys on moto's server (5 distributions, 417 days of one object
an hour each), and the hourly deployment's window (26 hours back from the
last hour). Against named baselines, in one run:

- before: what netsift sent before the skip scan, the layout probe and then
  the whole prefix, paginated, filtered by name;
- named: five runs, each with `--distribution` (the probe and the window's
  days), the cost when every id is known;
- skip scan: one run without `--distribution` now.

Counted: ListObjectsV2 requests and the keys they returned, the numbers S3
bills and waits on. Seconds are printed too, but moto filters and sorts the
whole bucket on every request whatever StartAfter says, so they do not show
what S3's index does. Not a test: it asserts only that each way lists the
same objects, and prints numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from bench.cloudfront import OUT
from bench.objects import moto_server
from netsift.ingest.sources import Window, list_s3, partitioned_layout

DISTRIBUTIONS = [f"E{n}BENCH{n:07d}" for n in range(1, 6)]
FIRST = datetime(2025, 10, 10, tzinfo=timezone.utc)


def keys(days: int) -> list[str]:
    return [
        f"cf/{d}.{FIRST + timedelta(hours=h):%Y-%m-%d-%H}.{h:06x}.gz"
        for d in DISTRIBUTIONS
        for h in range(days * 24)
    ]


def counting_client(endpoint: str):
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    counts = {"requests": 0, "keys": 0}

    def count(parsed, **_):
        counts["requests"] += 1
        counts["keys"] += len(parsed.get("Contents", ())) + len(parsed.get("CommonPrefixes", ()))

    client.meta.events.register("after-call.s3.ListObjectsV2", count)
    return client, counts


def measure(endpoint: str, listing) -> tuple[dict, float, list[str]]:
    client, counts = counting_client(endpoint)
    started = time.perf_counter()
    uris = listing(client)
    return counts, time.perf_counter() - started, uris


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=417)
    args = parser.parse_args()
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(name, value)  # moto's; nothing here reaches AWS
    OUT.mkdir(exist_ok=True)
    process, endpoint = moto_server()
    try:
        import boto3

        bucket = "bench"
        all_keys = keys(args.days)
        uploader = boto3.client("s3", endpoint_url=endpoint)
        uploader.create_bucket(Bucket=bucket)
        print(f"uploading {len(all_keys):,} empty objects", flush=True)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: uploader.put_object(Bucket=bucket, Key=k, Body=b""), all_keys))
        until = FIRST + timedelta(days=args.days)
        window = Window.of(None, until - timedelta(hours=26), until)
        source = f"s3://{bucket}/cf/"

        def before(client):
            partitioned_layout(client, bucket, "cf/")
            return [o.uri for o in list_s3(client, source, Window.of()) if window.admits(o)]

        def named(client):
            return sorted(
                o.uri
                for d in DISTRIBUTIONS
                for o in list_s3(client, source, Window.of(d, window.since, window.until))
            )

        def skip_scan(client):
            return [o.uri for o in list_s3(client, source, window)]

        results = {name: measure(endpoint, way) for name, way in
                   (("before", before), ("named", named), ("skip scan", skip_scan))}  # fmt: skip
        listed = {name: sorted(r[2]) for name, r in results.items()}
        assert listed["before"] == listed["named"] == listed["skip scan"]
        assert len(listed["before"]) == 26 * len(DISTRIBUTIONS)
        print(f"{len(all_keys):,} keys, {len(DISTRIBUTIONS)} distributions, a 26-hour window: "
              f"{len(listed['before'])} objects")  # fmt: skip
        print(f"{'way':<10} {'requests':>9} {'keys returned':>14} {'moto s':>7}")
        for name, (counts, seconds, _) in results.items():
            print(f"{name:<10} {counts['requests']:>9,} {counts['keys']:>14,} {seconds:>7.2f}")
        base, scan = results["before"][0], results["skip scan"][0]
        print(f"before / skip scan: {base['requests'] / scan['requests']:.1f}x the requests, "
              f"{base['keys'] / scan['keys']:.0f}x the keys")  # fmt: skip
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
