"""`make bench-objects`: many small objects, against named baselines, in one run.

- S3 (moto's server on loopback, started as tests/conftest.py does): 1,000
  objects of 50 requests. netsift's objects/s (`netsift cloudfront s3://…`,
  beyond its start-up: a run over an empty prefix) against one bare boto3
  client that lists, gets and gunzips the same objects in turn.
- The rerun over those 1,000 loaded objects: seconds beyond start-up.
- 100,000 requests as 2,000 small local objects against the same requests as
  20 large ones (each beyond start-up: a run over an empty folder). The three
  runs alternate for `--rounds` rounds and each time is their median: one run
  of each swung the ratio by 0.4 on a quiet machine.
- What the pieces cost: building an S3 client against reusing the process's
  one; a slot of the local write semaphore against one of Prefect's global
  concurrency limit (`prefect.concurrency.sync.concurrency`).
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import gzip
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.cloudfront import OUT, fresh_database, truncate
from bench.generate import write_objects
from bench.measure import run_cli
from bench.small_writes import per_object_transactions
from netsift.deployments.prefect_api import quiet_prefect

BIN = Path(sys.executable).parent


def dataset(requests: int, objects: int) -> Path:
    folder = OUT / f"objects-{requests}-{objects}"
    if not (folder / ".complete").exists():
        print(f"generating {requests:,} requests in {objects:,} objects under {folder}", flush=True)
        write_objects(folder, requests, objects)
        (folder / ".complete").write_text("ok")
    return folder


def moto_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (OUT / "moto.log").open("wb")
    process = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto_server did not start; see bench/out/moto.log")


def upload(endpoint: str, bucket: str, folder: Path) -> int:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    files = sorted(folder.glob("*.gz"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: client.put_object(Bucket=bucket, Key=f"cf/{f.name}", Body=f.read_bytes()), files))
    return len(files)


def bare_boto3(endpoint: str, bucket: str) -> tuple[float, int]:
    """One client, one thread: list, get and gunzip every object."""
    import boto3

    started = time.perf_counter()
    client = boto3.client("s3", endpoint_url=endpoint)
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="cf/"):
        for item in page.get("Contents", ()):
            gzip.decompress(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            count += 1
    return time.perf_counter() - started, count


def netsift(source: str, url: str) -> tuple[float, dict]:
    seconds, summary, _ = run_cli(["cloudfront", source], url)
    return seconds, summary


def client_costs(endpoint: str, repeat: int = 5) -> tuple[float, float]:
    """Seconds to build a new S3 client, and to get the process's one."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    from netsift.ingest.s3_clients import new_s3_client, s3_client

    started = time.perf_counter()
    for _ in range(repeat):
        new_s3_client()
    build = (time.perf_counter() - started) / repeat
    s3_client()
    started = time.perf_counter()
    for _ in range(10_000):
        s3_client()
    return build, (time.perf_counter() - started) / 10_000


def slot_costs(repeat: int = 3) -> tuple[float, float]:
    """Seconds per slot: the local semaphore, and Prefect's global
    concurrency (a limit that does not exist, as in the default set-up)."""
    from netsift.tasks.fanout import write_slot

    started = time.perf_counter()
    for _ in range(100_000):
        with write_slot(4):
            pass
    local = (time.perf_counter() - started) / 100_000

    from prefect import flow
    from prefect.concurrency.sync import concurrency

    @flow
    def acquire() -> float:
        with concurrency("netsift-bench-absent", occupy=1):  # warm-up
            pass
        started = time.perf_counter()
        for _ in range(repeat):
            with concurrency("netsift-bench-absent", occupy=1):
                pass
        return (time.perf_counter() - started) / repeat

    return local, acquire()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s3-objects", type=int, default=1_000)
    parser.add_argument("--requests-per-object", type=int, default=50)
    parser.add_argument("--local-requests", type=int, default=100_000)
    parser.add_argument("--small-objects", type=int, default=2_000)
    parser.add_argument("--large-objects", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of the local comparison")
    args = parser.parse_args()
    quiet_prefect()  # before Prefect is imported: its temporary server's telemetry would fail offline
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(name, value)
    OUT.mkdir(parents=True, exist_ok=True)

    s3_data = dataset(args.s3_objects * args.requests_per_object, args.s3_objects)
    small = dataset(args.local_requests, args.small_objects)
    large = dataset(args.local_requests, args.large_objects)
    empty = OUT / "objects-empty"
    empty.mkdir(exist_ok=True)
    url = fresh_database("netsift_bench_objects")

    server, endpoint = moto_server()
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        uploaded = upload(endpoint, "bench", s3_data)
        bare_s, bare_n = bare_boto3(endpoint, "bench")
        netsift("s3://bench/none/", url)  # warm-up: Prefect creates its local database on first use
        s3_empty_s = statistics.median(netsift("s3://bench/none/", url)[0] for _ in range(args.rounds))
        load_s, load = netsift("s3://bench/cf/", url)
        rerun_s, rerun = netsift("s3://bench/cf/", url)
        build_s, reuse_s = client_costs(endpoint)
    finally:
        server.terminate()
        server.wait()

    runs: dict[Path, list[float]] = {empty: [], small: [], large: []}
    summaries = {}
    for _ in range(args.rounds):
        for folder, seconds in runs.items():
            truncate(url)
            took, summaries[folder] = netsift(str(folder), url)
            seconds.append(took)
    local_empty_s, small_s, large_s = (statistics.median(runs[folder]) for folder in (empty, small, large))
    small_summary, large_summary = summaries[small], summaries[large]
    local_slot, prefect_slot = slot_costs()
    rows_each = args.local_requests // args.small_objects, args.local_requests // args.large_objects
    floor_small, floor_large = (per_object_transactions(url, args.local_requests // each, each) for each in rows_each)

    bare_rate = bare_n / bare_s
    netsift_rate = load["loaded"] / (load_s - s3_empty_s)
    small_net, large_net = small_s - local_empty_s, large_s - local_empty_s
    print()
    print(f"S3 on moto, {uploaded:,} objects of {args.requests_per_object} requests")
    print(f"  bare boto3 (one client, list+get+gunzip)  {bare_rate:>8.1f} objects/s  ({bare_s:.1f} s)")
    print(f"  netsift cloudfront, beyond start-up       {netsift_rate:>8.1f} objects/s  "
          f"({load_s:.1f} s end to end, start-up {s3_empty_s:.1f} s; {load['loaded']} loaded, "
          f"{load['rows_loaded']:,} rows)")  # fmt: skip
    print(f"  netsift / bare boto3                      {netsift_rate / bare_rate:>8.2f}x  (target >= 0.25)")
    print(f"  end to end, start-up included             {load['loaded'] / load_s:>8.1f} objects/s")
    print(f"rerun over the {rerun['skipped']:,} loaded objects     {rerun_s - s3_empty_s:>8.1f} s beyond start-up "
          f"({rerun_s:.1f} s end to end; target < 5 s)")  # fmt: skip
    print(f"{args.local_requests:,} requests, local files (medians of {args.rounds} alternating runs)")
    print(f"  as {args.small_objects:,} small objects                   {small_net:>8.1f} s beyond start-up "
          f"({small_summary['rows_loaded']:,} rows, {small_s:.1f} s end to end)")  # fmt: skip
    print(f"  as {args.large_objects} large objects                      {large_net:>8.1f} s beyond start-up "
          f"({large_summary['rows_loaded']:,} rows, {large_s:.1f} s end to end)")  # fmt: skip
    print("  each run, end to end (empty, small, large): "
          + "; ".join(" ".join(f"{runs[folder][i]:.1f}" for folder in (empty, small, large))
                      for i in range(args.rounds)))  # fmt: skip
    print(f"  small / large                             {small_net / large_net:>8.2f}x  (target <= 2; "
          f"end to end {small_s / large_s:.2f}x)")  # fmt: skip
    print("  ceiling: the same rows in bare psycopg, a transaction per object (claim, COPY, commit), 2 threads,"
          " no parsing")
    print(f"    {args.small_objects:,} objects of {rows_each[0]} rows {floor_small:>22.1f} s")
    print(f"    {args.large_objects} objects of {rows_each[1]:,} rows {floor_large:>21.1f} s")
    print(f"    small / large {floor_small / floor_large:>36.2f}x  (the floor of the ratio beyond start-up)")
    print("pieces")
    print(f"  new S3 client                             {build_s * 1000:>8.1f} ms")
    print(f"  the process's S3 client, reused           {reuse_s * 1e6:>8.1f} us")
    print(f"  local write semaphore, per object         {local_slot * 1e6:>8.1f} us")
    print(f"  Prefect concurrency(), per acquisition    {prefect_slot * 1000:>8.1f} ms  (limit absent)")


if __name__ == "__main__":
    main()
