"""`make bench-day`: a busy day, hour by hour. Does a run cost what is new,
or everything loaded before it?

S3 is moto's server on loopback (as bench/objects.py starts it), PostgreSQL a
temporary database, Prefect's home a fresh folder (so other jobs' runs do not
weigh on it). Each simulated hour:
- 500 new gzip objects (50 requests each) arrive under CloudFront's legacy
  key names, `cf/E2BENCH0000001.YYYY-MM-DD-HH.<unique>.gz`; from the second
  hour on, 10 of them are late files of the hour before;
- `netsift cloudfront s3://bench/cf/ --since <26 h before the hour's end>`:
  what the hourly deployment runs (`lookback_hours: 26`), so every run lists
  and re-checks up to a day of objects already loaded;
- `netsift alerts`: scheduled detection (no --since: the cursor decides).
Both are the CLI users run, each a process reporting to netsift's local
Prefect API (README: the Prefect server).
Printed per hour: the wall time of each, rows loaded, alerts, the CPU time
of the two CLI processes (less swayed than wall time by other jobs on a
shared machine; PostgreSQL's own work is not in it) and the peak memory (max
RSS of the CLI processes, Prefect's API thread included); then last hour /
first hour (target <= 1.5). Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text

from bench.cloudfront import ADMIN_URL, OUT, fresh_database
from bench.generate import STANDARD_FIELDS, request_line
from bench.measure import run_cli
from bench.objects import moto_server
from netsift.db import normalized_url

DISTRIBUTION = "E2BENCH0000001"
START = datetime(2026, 11, 1, tzinfo=timezone.utc)
HEADER = "#Version: 1.0\n#Fields: " + " ".join(STANDARD_FIELDS) + "\n"


def hour_objects(rng: random.Random, hour: int, objects: int, requests: int, late: int) -> dict[str, bytes]:
    """{key: gzip body} of the objects arriving during `hour`: the last
    `late` of them are filed under the hour before, as CloudFront's late
    deliveries are."""
    found = {}
    for index in range(objects):
        filed = START + timedelta(hours=hour - (1 if hour and index >= objects - late else 0))
        stamps = sorted(rng.randrange(3600) for _ in range(requests))
        body = HEADER + "".join(request_line(rng, filed + timedelta(seconds=s)) for s in stamps)
        key = f"cf/{DISTRIBUTION}.{filed:%Y-%m-%d-%H}.{rng.getrandbits(32):08x}.gz"
        found[key] = gzip.compress(body.encode(), compresslevel=6)
    return found


def cpu_seconds() -> float:
    """CPU time (user + system) of the finished child processes so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def upload(client, bucket: str, bodies: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), bodies.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--objects", type=int, default=500, help="objects arriving each hour")
    parser.add_argument("--requests", type=int, default=50, help="requests per object")
    parser.add_argument("--late", type=int, default=10, help="of each hour's objects, late files of the hour before")
    parser.add_argument("--lookback-hours", type=int, default=26)
    args = parser.parse_args()
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(name, value)
    OUT.mkdir(parents=True, exist_ok=True)
    prefect_home = OUT / "day-prefect"
    shutil.rmtree(prefect_home, ignore_errors=True)
    prefect_home.mkdir()
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.pop("PREFECT_API_URL", None)
    name = "netsift_bench_day"
    url = fresh_database(name)
    rng = random.Random(7)

    server, endpoint = moto_server()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="bench")
    rows = []
    try:
        run_cli(["cloudfront", "s3://bench/none/"], url)  # warm-up: Prefect creates its local database
        print(f"{'hour':>4} {'listed':>6} {'loaded':>6} {'rows':>7} {'alerts':>6} "
              f"{'ingest s':>8} {'detect s':>8} {'total s':>8} {'cpu s':>6} {'peak MB':>7}", flush=True)  # fmt: skip
        for hour in range(args.hours):
            upload(client, "bench", hour_objects(rng, hour, args.objects, args.requests, args.late))
            since = START + timedelta(hours=hour + 1 - args.lookback_hours)
            cpu = cpu_seconds()
            ingest_s, ingest, ingest_rss = run_cli(["cloudfront", "s3://bench/cf/", "--since", since.isoformat()], url)
            detect_s, detected, detect_rss = run_cli(["alerts"], url)
            row = dict(hour=hour + 1, listed=ingest["objects"], loaded=ingest["loaded"], rows=ingest["rows_loaded"],
                       alerts=detected["new"] + detected["updated"], ingest_s=ingest_s, detect_s=detect_s,
                       total_s=ingest_s + detect_s, cpu_s=cpu_seconds() - cpu,
                       rss=max(ingest_rss, detect_rss))  # fmt: skip
            rows.append(row)
            print(f"{row['hour']:>4} {row['listed']:>6} {row['loaded']:>6} {row['rows']:>7,} {row['alerts']:>6} "
                  f"{ingest_s:>8.1f} {detect_s:>8.1f} {row['total_s']:>8.1f} {row['cpu_s']:>6.1f} "
                  f"{row['rss'] / 2**20:>7.0f}",
                  flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()
        admin = create_engine(normalized_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    first, last = rows[0], rows[-1]
    print()
    print(f"requests loaded in all              {sum(r['rows'] for r in rows):>10,}")
    print(f"peak memory (max RSS, any run)      {max(r['rss'] for r in rows) / 2**20:>10.0f} MB")
    for key, label in (("ingest_s", "ingest"), ("detect_s", "detect"), ("total_s", "ingest + detect"),
                       ("cpu_s", "CPU of the CLIs")):
        print(f"last / first hour, {label:<16} {last[key] / first[key]:>10.2f}x  "
              f"({last[key]:.1f} s / {first[key]:.1f} s)")  # fmt: skip
    print("target: ingest + detect <= 1.5x")


if __name__ == "__main__":
    main()
