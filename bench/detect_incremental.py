"""`make bench-detect` (second part): does a detection run cost what is new,
or everything ever loaded?

In PostgreSQL, generates (in SQL, seeded) a history of N requests over 30
days in 1,000 objects: browsers, crawlers, scripts, single probes, and
scanners probing in bursts. Then measures in one run:
- a full recompute over the history (a first run, or new rules);
- an incremental run after 100,000 new requests in 20 new objects;
- the same 100,000 requests detected alone, in an empty database: the
  baseline. Target: incremental / alone <= 2.
- a run with nothing new.
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import date, timedelta

from sqlalchemy import text

from bench.cloudfront import fresh_database
from netsift.db import engine_for
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.partitions import create_days

AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1",
]  # fmt: skip
GOOGLEBOT, BINGBOT = (next(i for i, agent in enumerate(AGENTS) if bot in agent) for bot in ("Googlebot", "bingbot"))
PATHS = ["/", "/index.html", "/about", "/blog/2024/03/cdn-logs", "/assets/app.js", "/assets/app.css",
         "/images/logo.png", "/api/v1/items", "/favicon.ico", "/robots.txt"]  # fmt: skip
PROBES = ["/wp-login.php", "/xmlrpc.php", "/wp-admin/", "/.env", "/.git/config", "/wp-config.php.bak",
          "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/phpmyadmin/index.php", "/shell.php",
          "/wp-includes/wlwmanifest.xml", "/wp-json/wp/v2/users"]  # fmt: skip


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate(url: str, requests: int, objects: int, start: str, days: float, seed: float, first_line: int) -> None:
    """`requests` rows in `objects` new source objects, timestamps spread over
    `days` from `start`, in the order a log is delivered (as loading writes
    them, so the ts index sees the table in time order). 1% come from 2,000 scanners (probe paths, 404s, each
    scanner in a burst of two minutes), 3% are single probes from anyone.
    Secondary indexes are dropped while rows go in and built again after
    (what a bulk restore does), so generating history does not take hours."""
    engine = engine_for(url)
    first_day = date.fromisoformat(start)
    create_days(engine, (first_day + timedelta(days=n) for n in range(math.ceil(days) + 2)))
    with engine.begin() as conn:
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cloudfront_requests' "
            "AND indexname NOT LIKE 'pk_%'")).all()  # fmt: skip
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        first = conn.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM source_objects")).scalar()
        conn.execute(text(
            "INSERT INTO source_objects (id, uri, kind, etag, size_bytes, status, rows_loaded, rows_rejected, "
            "parser_version, first_seen_at, loaded_at, updated_at) "
            "SELECT :first + g, 's3://bench/E2HIST.' || (:first + g) || '.gz', 'cloudfront', md5(g::text), 0, "
            "'loaded', 0, 0, 'bench', now(), clock_timestamp(), now() FROM generate_series(0, :objects - 1) g"
        ), {"first": first, "objects": objects})  # fmt: skip
        conn.execute(text("SELECT setval(pg_get_serial_sequence('source_objects', 'id'), :last)"),
                     {"last": first + objects - 1})  # fmt: skip
        conn.execute(text(f"""
            INSERT INTO cloudfront_requests (source_object_id, line_number, ts, distribution_id, c_ip, cs_method,
                                             cs_uri_stem, sc_status, cs_user_agent)
            SELECT :first + (g % :objects), g, t, 'E2HIST', ip, 'GET', path, status, agent
            FROM (
              SELECT g, scanner,
                     CASE WHEN scanner THEN CAST(:start AS timestamptz)
                          + ((n % 2000) * 7919 % (:days * 86400)::int + random() * 120) * interval '1 second'
                          ELSE base END AS t,
                     CASE WHEN scanner THEN '203.0.' || ((n % 2000) / 250) || '.' || (n % 250)
                          -- crawlers from their operators' networks, as in real traffic
                          WHEN agent_i = {GOOGLEBOT} THEN '66.249.' || (64 + n % 16) || '.' || (n % 250)
                          WHEN agent_i = {BINGBOT} THEN '157.55.39.' || (n % 250)
                          ELSE (ARRAY[52, 66, 93, 185])[1 + (n % 4)] || '.' || ((n / 4) % 256) || '.'
                               || ((n / 1024) % 100) || '.' || (1 + (n / 102400) % 250) END AS ip,
                     CASE WHEN scanner OR random() < 0.03
                          THEN ({_array(PROBES)})[1 + floor(random() * {len(PROBES)})::int]
                          ELSE ({_array(PATHS)})[1 + floor(random() * {len(PATHS)})::int] END AS path,
                     CASE WHEN scanner THEN 404 ELSE (ARRAY[200, 200, 200, 304, 404])[1 + floor(random() * 5)::int]
                     END AS status,
                     CASE WHEN scanner THEN 'python-requests/2.31.0' ELSE ({_array(AGENTS)})[1 + agent_i] END AS agent
              FROM (
                SELECT g, random() < 0.01 AS scanner,
                       floor(random() * 100000)::int AS n,
                       floor(random() * {len(AGENTS)})::int AS agent_i,
                       CAST(:start AS timestamptz)
                         + ((g - :first_line) * :days * 86400.0 / :requests + random() * 60) * interval '1 second' AS base
                FROM generate_series(:first_line, :first_line + :requests - 1) g
              ) raw
            ) shaped
        """), {"first": first, "objects": objects, "start": start, "days": days, "requests": requests,
               "first_line": first_line})  # fmt: skip
        for _, definition in indexes:
            conn.exec_driver_sql(definition.replace(" ON ONLY ", " ON "))  # ONLY would skip the partitions
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def timed(url: str, rules) -> tuple[float, object]:
    started = time.perf_counter()
    result = detect(engine_for(url), rules)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=10_000_000)
    parser.add_argument("--new", type=int, default=100_000)
    args = parser.parse_args()
    rules = load_rules()

    url = fresh_database("netsift_bench_detect_history")
    print(f"generating {args.history:,} requests of history", flush=True)
    started = time.perf_counter()
    generate(url, args.history, 1000, "2026-10-01", 30, 0.42, 1)
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    full_seconds, full = timed(url, rules)
    print(f"full recompute over the history     {full_seconds:8.1f} s  ({len(full.new):,} alerts)", flush=True)

    generate(url, args.new, 20, "2026-10-31", 1 / 24, 0.17, args.history + 1)
    incremental_seconds, incremental = timed(url, rules)
    print(f"incremental run, {args.new:,} new          {incremental_seconds:8.2f} s  "
          f"({len(incremental.new)} new, {len(incremental.updated)} updated alerts)", flush=True)  # fmt: skip
    noop_seconds, _ = timed(url, rules)
    print(f"run with nothing new                {noop_seconds:8.2f} s", flush=True)

    alone = fresh_database("netsift_bench_detect_alone")
    generate(alone, args.new, 20, "2026-10-31", 1 / 24, 0.17, args.history + 1)
    alone_seconds, solo = timed(alone, rules)
    print(f"the {args.new:,} new requests alone       {alone_seconds:8.2f} s  ({len(solo.new)} alerts)")
    print(f"\nincremental / alone                 {incremental_seconds / alone_seconds:8.2f}x  (target <= 2)")
    print(f"full recompute / incremental        {full_seconds / incremental_seconds:8.1f}x")


if __name__ == "__main__":
    main()
