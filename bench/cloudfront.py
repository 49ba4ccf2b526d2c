"""`make bench-cloudfront`: netsift's CloudFront ingest against its baselines.

Measured in one run, on generated gzip objects, into one PostgreSQL:
- netsift end to end (the CLI, so Prefect included): a tiny and a large run;
  throughput is their difference, so Prefect's fixed start-up is reported apart;
- the seed notebooks' way: pandas.read_csv then DataFrame.to_sql;
- the ceiling: already-parsed rows into the same table with the same indexes
  by PostgreSQL's fastest bulk path from Python (binary and text COPY through
  psycopg 3; the faster is the ceiling);
- netsift's peak memory (max RSS of the CLI process);
- standard logging (v2): the same requests as gzip JSON lines and as Parquet,
  loaded in-process (no Prefect) beside the same text objects, rows/s each.
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.generate import write_objects, write_v2_objects
from bench.measure import run_cli
from netsift.db import normalized_url, upgrade
from netsift.schema import CLOUDFRONT_COPY_COLUMNS, cloudfront_requests
from netsift.cloudfront.parse import STANDARD_FIELDS, LogParser
from netsift.ingest.writer import pg_type_name
from netsift.ingest.reading import text_lines

OUT = Path(__file__).resolve().parent / "out"
ADMIN_URL = os.environ.get("NETSIFT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def dataset(requests: int, objects: int) -> Path:
    folder = OUT / f"cloudfront-{requests}-{objects}"
    if not (folder / ".complete").exists():
        print(f"generating {requests:,} requests in {objects} objects under {folder}", flush=True)
        write_objects(folder, requests, objects)
        (folder / ".complete").write_text("ok")
    return folder


def fresh_database(name: str) -> str:
    admin = create_engine(normalized_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def truncate(url: str) -> None:
    engine = create_engine(normalized_url(url))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE source_objects CASCADE"))
    engine.dispose()


def load_folder(url: str, folder: Path) -> int:
    """Load every object of `folder` in-process (no Prefect), then ANALYZE;
    the number of requests in the table."""
    from netsift.db import engine_for
    from netsift.settings import Settings
    from netsift.cloudfront.load import load_object
    from netsift.ingest.sources import Window, list_local

    engine, settings = engine_for(url), Settings(database_url=url)
    for obj in list_local(folder, Window.of()):
        load_object(engine, obj, settings)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT COUNT(*) FROM cloudfront_requests")).scalar()
        conn.execute(text("ANALYZE"))
        conn.commit()
    return total


def run_netsift(folder: Path, url: str) -> tuple[float, int, int]:
    """(seconds, rows loaded, peak RSS in bytes) of one `netsift cloudfront` run."""
    truncate(url)
    seconds, summary, rss = run_cli(["cloudfront", str(folder)], url)
    return seconds, summary["rows_loaded"], rss


def run_pandas(files: list[Path], url: str) -> tuple[float, int]:
    """The seed notebooks' approach: read_csv each object, then to_sql."""
    import pandas as pd

    engine = create_engine(normalized_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS pandas_requests"))
    names = [name.replace("(", "_").replace(")", "").replace("-", "_").lower() for name in STANDARD_FIELDS]
    started, count = time.perf_counter(), 0
    for file in files:
        frame = pd.read_csv(
            file, sep="\t", skiprows=2, names=names, na_values="-",
            compression="gzip", low_memory=False,
        )  # fmt: skip
        frame.to_sql("pandas_requests", engine, if_exists="append", index=False)
        count += len(frame)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, count


def run_formats(text_files: list[Path], url: str) -> dict[str, tuple[float, int]]:
    """(rows/s, rows) of in-process loading, per format, for the same requests."""
    import shutil

    folders = {"text (gzip)": OUT / "v2-text", "JSON lines (gzip)": OUT / "v2-json", "Parquet": OUT / "v2-parquet"}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
    folders["text (gzip)"].mkdir(parents=True)
    for file in text_files:
        shutil.copy(file, folders["text (gzip)"] / file.name)
    write_v2_objects(text_files, folders["JSON lines (gzip)"], "json")
    write_v2_objects(text_files, folders["Parquet"], "parquet")
    rates = {}
    for name, folder in folders.items():
        truncate(url)
        started = time.perf_counter()
        count = load_folder(url, folder)
        rates[name] = (count / (time.perf_counter() - started), count)
    return rates


def parsed_rows(files: list[Path], object_id: int) -> list[list]:
    rows = []
    for file in files:
        parser = LogParser(source_object_id=object_id)
        with file.open("rb") as handle:
            rows.extend(parser.rows(text_lines(handle, max_line_bytes=1 << 16, max_total_bytes=1 << 40)))
    for number, row in enumerate(rows, start=1):
        row[1] = number  # one object, unique line numbers
    return rows


def run_ceiling(rows: list[list], url: str, fmt: str) -> float:
    """Seconds to COPY already-parsed rows into cloudfront_requests."""
    import psycopg

    truncate(url)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(
            "INSERT INTO source_objects (id, uri, kind, status, rows_loaded, rows_rejected, "
            "parser_version, first_seen_at, updated_at) VALUES (1, 'bench', 'cloudfront', "
            "'loaded', 0, 0, 'bench', now(), now())"
        )
        columns = ", ".join(CLOUDFRONT_COPY_COLUMNS)
        types = [pg_type_name(cloudfront_requests.c[c]) for c in CLOUDFRONT_COPY_COLUMNS]
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY cloudfront_requests ({columns}) FROM STDIN (FORMAT {fmt})") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--pandas-requests", type=int, default=150_000)
    parser.add_argument("--ceiling-requests", type=int, default=300_000)
    parser.add_argument("--v2-requests", type=int, default=300_000)
    parser.add_argument("--database", default="netsift_bench", help="dropped and made again")
    args = parser.parse_args()

    large = dataset(args.requests, args.objects)
    tiny = dataset(1_000, 1)
    url = fresh_database(args.database)
    files = sorted(large.glob("*.gz"))

    run_netsift(tiny, url)  # warm-up: Prefect creates its local database on first use
    tiny_s, tiny_rows, _ = run_netsift(tiny, url)
    large_s, large_rows, rss = run_netsift(large, url)
    throughput = (large_rows - tiny_rows) / (large_s - tiny_s)
    startup = tiny_s - tiny_rows / throughput

    per_file = args.requests // args.objects
    pandas_files = files[: max(1, args.pandas_requests // per_file)]
    pandas_s, pandas_rows = run_pandas(pandas_files, url)

    ceiling_files = files[: max(1, args.ceiling_requests // per_file)]
    rows = parsed_rows(ceiling_files, 1)
    ceilings = {fmt: len(rows) / run_ceiling(rows, url, fmt) for fmt in ("BINARY", "TEXT")}
    del rows
    formats = run_formats(files[: max(1, args.v2_requests // per_file)], url)
    ceiling_fmt, ceiling = max(ceilings.items(), key=lambda kv: kv[1])
    pandas_rate = pandas_rows / pandas_s

    print()
    print(f"netsift cloudfront, end to end   {throughput:>10,.0f} rows/s  ({large_rows:,} rows, {len(files)} gzip objects, {large_s:.1f} s)")
    print(f"  fixed start-up (Prefect etc.)  {startup:>10.1f} s      (tiny run: {tiny_rows:,} rows in {tiny_s:.1f} s)")
    print(f"  peak memory (max RSS)          {rss / 2**20:>10,.0f} MB")
    print(f"pandas read_csv + to_sql         {pandas_rate:>10,.0f} rows/s  ({pandas_rows:,} rows)")
    for fmt, rate in ceilings.items():
        print(f"ceiling: psycopg 3 {fmt.lower():<6} COPY   {rate:>10,.0f} rows/s  (parsed rows, same table and indexes)")
    text_rate = formats["text (gzip)"][0]
    for name, (rate, count) in formats.items():
        print(f"in-process load, {name:<18}{rate:>10,.0f} rows/s  ({count:,} rows; {rate / text_rate:.2f} x text)")
    print()
    print(f"netsift / ceiling ({ceiling_fmt.lower()} COPY)   {throughput / ceiling:>6.2f}   (target >= 0.50)")
    print(f"netsift / pandas                 {throughput / pandas_rate:>6.1f}x")
    print(f"peak memory                      {rss / 2**20:>6.0f} MB (target < 400 MB)")


if __name__ == "__main__":
    main()
