"""`make bench-detect`: set-based detection against a naive per-request loop.

Loads generated CloudFront traffic (bench/generate.py: browsers, crawlers,
scripts, scanners and probes) into PostgreSQL, then measures in one run:
- netsift's detection (verdicts for distinct user agents and paths, SQL
  views, alerts per client and window), as requests/s over the table;
- the naive way with the same rules: fetch every request and classify its
  user agent and path in a Python loop (bounded in rows; its rate is
  measured, not extrapolated from a guess).
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from sqlalchemy import text

from bench.cloudfront import dataset, fresh_database, load_folder
from netsift.db import engine_for
from netsift.detection.bots import classify_user_agent
from netsift.detection.alerts import detect
from netsift.detection.probes import classify_path
from netsift.detection.ruleset import load_rules


def naive(engine, rules, limit: int) -> tuple[int, float, int]:
    """Per request: classify, then count probes per client and 10 minutes."""
    started, count = time.perf_counter(), 0
    groups: dict[tuple, set] = defaultdict(set)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True).execute(text(
            "SELECT c_ip, ts, cs_uri_stem, cs_user_agent, sc_status FROM cloudfront_requests LIMIT :n"
        ), {"n": limit})  # fmt: skip
        for ip, ts, path, agent, status in rows:
            classify_user_agent(agent, rules)
            probe = classify_path(path, rules)
            if probe.is_probe:
                groups[(ip, probe.probe_category, int(ts.timestamp()) // 600)].add(path)
            count += 1
    alerts = sum(1 for paths in groups.values() if len(paths) >= 3)
    return count, time.perf_counter() - started, alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--naive-requests", type=int, default=100_000)
    args = parser.parse_args()

    folder = dataset(args.requests, args.objects)
    url = fresh_database("netsift_bench_detect")
    engine = engine_for(url)
    print("loading", flush=True)
    total = load_folder(url, folder)
    rules = load_rules()

    started = time.perf_counter()
    result = detect(engine, rules)
    seconds = time.perf_counter() - started
    rerun_started = time.perf_counter()
    rerun = detect(engine, rules)
    rerun_seconds = time.perf_counter() - rerun_started
    naive_count, naive_seconds, _ = naive(engine, rules, args.naive_requests)

    print()
    print(f"netsift detect (first run)         {total / seconds:>10,.0f} requests/s  ({total:,} requests in {seconds:.1f} s; "
          f"{result.new_agents} user agents, {result.new_paths} paths classified; {len(result.new)} alerts)")
    print(f"netsift detect (rerun)             {total / rerun_seconds:>10,.0f} requests/s  ({rerun_seconds:.1f} s; "
          f"{len(rerun.new)} new, {rerun.unchanged} unchanged alerts)")
    print(f"naive per-request Python loop      {naive_count / naive_seconds:>10,.0f} requests/s  ({naive_count:,} requests in {naive_seconds:.1f} s)")
    print(f"\nnetsift / naive                    {(total / seconds) / (naive_count / naive_seconds):>6.1f}x")


if __name__ == "__main__":
    main()
