"""`python -m bench.object_costs`: where a small object's load goes, in-process
(no Prefect), on PostgreSQL.

The 2,000 small objects of `make bench-objects` are loaded with
`load_object`, on one thread and then on two, and measured per object: wall
time, this process's CPU time (Python holds one core at a time, the GIL), and
PostgreSQL's server processes' CPU time. The one-thread run also splits this
process's CPU by step (thread CPU time around each). If two threads are no
faster than one while PostgreSQL has a core to spare, the load is bound by
Python's own work per object, not by round trips.
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.cloudfront import fresh_database, truncate
from bench.objects import dataset


def postgres_cpu_seconds() -> float:
    """CPU time of PostgreSQL's processes so far (backends that exited are lost,
    so each run keeps its connections open: the engine's pool)."""
    pids = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout.split()
    ticks = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=2_000)
    args = parser.parse_args()

    import netsift.cloudfront.load as load
    import netsift.ingest.ledger as ledger
    from netsift.db import engine_for, upgrade
    from netsift.ingest.sources import Window, list_local
    from netsift.settings import Settings

    url = fresh_database("netsift_bench_object_costs")
    upgrade(url)
    engine, settings = engine_for(url), Settings(database_url=url)
    objects = list(list_local(dataset(args.requests, args.objects), Window.of()))

    steps: Counter = Counter()

    def timed(module, name: str) -> None:
        real = getattr(module, name)

        def wrapper(*a, **k):
            started = time.thread_time()
            try:
                return real(*a, **k)
            finally:
                steps[name] += time.thread_time() - started

        setattr(module, name, wrapper)

    for module, name in ((ledger, "claim_new"), (ledger, "claim_content"), (load, "copy_rows"),
                         (load, "prepare_days"), (ledger, "identity_of")):  # fmt: skip
        timed(module, name)

    print(f"{len(objects):,} objects of {args.requests // len(objects)} requests, loaded in-process")
    for threads in (1, 2):
        truncate(url)
        steps.clear()
        before = resource.getrusage(resource.RUSAGE_SELF)
        server = postgres_cpu_seconds()
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda obj: load.load_object(engine, obj, settings), objects))
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        per = 1000 / len(objects)
        print(f"  {threads} thread{'s' if threads > 1 else ''}: {wall * per:.2f} ms wall per object; "
              f"CPU {cpu * per:.2f} ms in this process, {(postgres_cpu_seconds() - server) * per:.2f} ms "
              f"in PostgreSQL")  # fmt: skip
        if threads == 1:
            for name, seconds in steps.most_common():
                print(f"      {name:15} {seconds * per:.2f} ms CPU per object")
            print("      (copy_rows includes parsing the object's lines, which it streams)")


if __name__ == "__main__":
    main()
