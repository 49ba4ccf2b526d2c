"""`make bench-console`: time to the first page of a filtered, sorted view in
`netsift browse`, over 1,000,000 generated CloudFront requests in PostgreSQL.

Measured in one run:
- netsift: the console's own page request, as the browser makes it. A real
  Chromium opens the console and applies the headline view (cs_uri_stem
  contains "wp", sc_bytes descending); the Dash request it sends is then
  replayed over HTTP for each view below, cold once then warm (median of 5);
  for the headline, also the time from that request to its rows on screen;
- the ceiling: the database alone running the same page query (psycopg,
  no Dash, no HTTP, no conversion);
- the seed notebooks' way: the whole classified view into pandas, then
  filter, sort and take the first page (and the memory that costs).
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text

from bench.cloudfront import ADMIN_URL, dataset, fresh_database, load_folder
from netsift.console.grid_query import page_query
from netsift.console.tables import browsable
from netsift.db import engine_for
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules

TABLE = "cloudfront_requests_classified"
DATABASE = "netsift_bench_console"
PAGE = 100


def contains(column, value):
    return {column: {"filterType": "text", "type": "contains", "filter": value}}


VIEWS = {
    'cs_uri_stem contains "wp", sc_bytes desc': (contains("cs_uri_stem", "wp"), [("sc_bytes", "desc")]),
    "no filter, newest first": ({}, []),
    "sc_status > 400, sc_bytes desc": (
        {"sc_status": {"filterType": "number", "type": "greaterThan", "filter": 400}}, [("sc_bytes", "desc")]),
    "is_probe = true, newest first": ({"is_probe": {"filterType": "text", "type": "equals", "filter": "true"}}, []),
    'cs_user_agent contains "bot", cs_uri_stem asc': (contains("cs_user_agent", "bot"), [("cs_uri_stem", "asc")]),
}  # fmt: skip
HEADLINE = next(iter(VIEWS))


def sort_model(pairs):
    return [{"colId": column, "sort": direction} for column, direction in pairs]


def prepared_database(requests: int, objects: int, reuse: bool) -> str:
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    if reuse:
        try:
            with engine_for(url).connect() as conn:
                if conn.execute(text("SELECT count(*) FROM cloudfront_requests")).scalar() == requests:
                    print(f"reusing {DATABASE}", flush=True)
                    return url
        except Exception:
            pass
    folder = dataset(requests, objects)
    url = fresh_database(DATABASE)
    print(f"loading {requests:,} requests and classifying them", flush=True)
    load_folder(url, folder)
    detect(engine_for(url), load_rules())
    return url


def capture_page_request(base: str) -> tuple[str, dict, float]:
    """Drive Chromium to the headline view; return the Dash page request it
    sent (path and JSON body), and the seconds from sending it to its rows on
    screen."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(base + "/")
        rows = page.locator(".ag-center-cols-container .ag-row")
        rows.first.wait_for(timeout=120_000)
        header = page.locator('[role="columnheader"][col-id="sc_bytes"] .ag-header-cell-label')
        header.click()
        header.click()
        page.wait_for_timeout(2_000)

        def is_headline(request) -> bool:
            body = request.post_data or ""
            return "getRowsRequest" in body and '"filter":"wp"' in body.replace(" ", "")

        with page.expect_request(is_headline, timeout=60_000) as sent:
            page.locator('.ag-floating-filter[col-id="cs_uri_stem"] input').fill("wp")
        started = time.perf_counter()
        request = sent.value
        page.wait_for_function(
            """() => { const cells = [...document.querySelectorAll(
                 '.ag-center-cols-container .ag-row .ag-cell[col-id="cs_uri_stem"]')];
               return cells.length > 0 && cells.every(c => c.textContent.toLowerCase().includes('wp')); }""",
            timeout=60_000,
        )
        on_screen = time.perf_counter() - started
        path = request.url.removeprefix(base)
        body = json.loads(request.post_data)
        browser.close()
    return path, body, on_screen


def with_view(body: dict, filter_model: dict, sort: list) -> dict:
    """The captured request, asking for another view's first page."""
    changed = copy.deepcopy(body)
    for group in changed["inputs"]:
        for item in group if isinstance(group, list) else [group]:
            if item.get("property") == "getRowsRequest":
                item["value"].update(filterModel=filter_model, sortModel=sort, startRow=0, endRow=PAGE)
    return changed


def round_trip(base: str, path: str, body: dict) -> float:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        payload = json.loads(response.read())
    seconds = time.perf_counter() - started
    rows = json.dumps(payload).count('"line_number"')
    if rows == 0:
        raise SystemExit(f"the console answered without rows: {json.dumps(payload)[:500]}")
    return seconds


def database_alone(url: str, filter_model: dict, sort: list) -> float:
    """The same page query, through psycopg and nothing else (warm, median of 5)."""
    import psycopg

    from netsift.console.app import postgres_options

    engine = engine_for(url)
    query = page_query(browsable(TABLE), filter_model, sort, 0, PAGE, "postgresql")
    compiled = query.compile(engine)
    sql, params = str(compiled), compiled.params
    times = []
    with psycopg.connect(url, options=postgres_options(60)) as conn:
        for _ in range(6):
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def pandas_way(url: str) -> tuple[float, int]:
    """Read the classified view whole, then filter, sort and page in pandas."""
    import pandas as pd

    engine = engine_for(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(f"SELECT * FROM {TABLE}"), conn)
    hits = frame[frame["cs_uri_stem"].str.contains("wp", case=False, na=False, regex=False)]
    hits.sort_values("sc_bytes", ascending=False, na_position="last").head(PAGE)
    seconds = time.perf_counter() - started
    return seconds, int(frame.memory_usage(deep=True).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help=f"keep database {DATABASE} if already loaded")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    url = prepared_database(args.requests, args.objects, args.reuse)
    base = f"http://127.0.0.1:{args.port}"
    netsift = str(Path(sys.executable).parent / "netsift")
    server = subprocess.Popen([netsift, "browse", "--port", str(args.port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "NETSIFT_DATABASE_URL": url})  # fmt: skip
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        path, body, on_screen = capture_page_request(base)
        results = []
        for name, (filter_model, pairs) in VIEWS.items():
            sort = sort_model(pairs)
            request = with_view(body, filter_model, sort)
            cold = round_trip(base, path, request)
            warm = statistics.median(round_trip(base, path, request) for _ in range(5))
            results.append((name, cold, warm, database_alone(url, filter_model, sort)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    pandas_seconds, pandas_bytes = pandas_way(url)

    with engine_for(url).connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM cloudfront_requests")).scalar()
    print(f"\nfirst page ({PAGE} rows) of {TABLE}, {total:,} requests, PostgreSQL\n")
    print(f"{'view':48s} {'netsift cold':>13s} {'netsift warm':>13s} {'database alone':>15s} {'warm/db':>8s}")
    for name, cold, warm, alone in results:
        print(f"{name:48s} {cold * 1000:>10.0f} ms {warm * 1000:>10.0f} ms {alone * 1000:>12.0f} ms {warm / alone:>7.1f}x")
    headline = results[0]
    print(f"\nheadline view, browser: request sent to rows on screen  {on_screen * 1000:,.0f} ms")
    print(f"pandas, the notebooks' way (whole view, then filter/sort) {pandas_seconds * 1000:,.0f} ms, "
          f"{pandas_bytes / 1e6:,.0f} MB in memory")  # fmt: skip
    print(f"netsift warm vs pandas: {pandas_seconds / headline[2]:,.0f}x faster; "
          f"vs the database alone: {headline[2] / headline[3]:.1f}x its time")  # fmt: skip


if __name__ == "__main__":
    main()
