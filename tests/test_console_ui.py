"""`netsift browse` in headless Chromium (Debian's, driven by Playwright), over
PostgreSQL loaded with the bundled samples, a WordPress scan and attacker
strings: what an analyst clicks, and what the page must never render."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.capture.load import load_capture
from netsift.cloudfront.load import load_object
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.ingest.sources import Window, list_local
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA, ROOT, free_port, fresh_pg_database, start_process, stop_process, wait_for_http

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NETSIFT = str(Path(sys.executable).parent / "netsift")
SCANNER = "198.51.100.66"
HOSTILE_AGENT = '<img src=x onerror="document.title=\'pwned\'">'
HOSTILE_PATH = '/<a href="javascript:alert(1)">click</a>'
FORMULA_AGENT = "=HYPERLINK(\"http://evil.example\")"
# A scanner behind a browser-like user agent: not a bot by its agent, never human.
MASKED = "203.0.113.66"
MASKED_AGENT = "Mozilla/5.0 (compatible)"
SPOOFED_AGENT = "sqlmap/1.7 \u202egnp.exe"
SCREENSHOTS_TO_DOCS = os.environ.get("NETSIFT_UPDATE_SCREENSHOTS") == "1"
WAIT_MS = 30_000


def encoded(value: str) -> str:
    """As CloudFront writes a user agent or path: percent-encoded."""
    return "".join(c if c.isalnum() or c in "/._-" else f"%{ord(c):02X}" for c in value)


def scan_lines() -> list[str]:
    firefox = encoded("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0")
    probes = ["/wp-login.php", "/xmlrpc.php", "/wp-admin/install.php", "/wp-content/plugins/revslider/readme.txt",
              "/wp-config.php.bak", "/.env", "/phpmyadmin/index.php"]  # fmt: skip
    rows = [line(c_ip=SCANNER, time=f"12:00:{i:02d}", cs_uri_stem=path, sc_status="404", sc_bytes=str(400 + 37 * i),
                 cs_user_agent="python-requests/2.31.0") for i, path in enumerate(probes)]  # fmt: skip
    rows += [line(c_ip="192.0.2.10", time=f"12:01:{i:02d}", cs_uri_stem=path, sc_bytes=str(5000 + i),
                  cs_user_agent=firefox) for i, path in enumerate(["/", "/blog/", "/about", "/blog/"])]  # fmt: skip
    rows += [
        # Often enough to be among the most requested paths, so it is plotted.
        *(line(c_ip="203.0.113.7", time=f"12:02:0{i}", cs_uri_stem=encoded(HOSTILE_PATH), sc_status="404",
               cs_user_agent=encoded(HOSTILE_AGENT)) for i in range(8)),
        line(c_ip="203.0.113.8", time="12:02:01", cs_uri_stem="/robots.txt", cs_user_agent=encoded(FORMULA_AGENT)),
        line(c_ip=MASKED, time="12:03:00", cs_uri_stem="/", cs_referer="https://scanner.example/",
             cs_user_agent=encoded(MASKED_AGENT)),
        *(line(c_ip=MASKED, time=f"12:03:{i + 1:02d}", cs_uri_stem=path, sc_status="404",
               cs_user_agent=encoded(MASKED_AGENT))
          for i, path in enumerate(["/.env", "/.git/config", "/phpinfo.php", "/.aws/credentials", "/backup.sql"])),
        line(c_ip="203.0.113.9", time="12:04:00", cs_uri_stem="/about",
             cs_user_agent=urllib.parse.quote(SPOOFED_AGENT, safe="/")),
    ]  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    logs = tmp_path_factory.mktemp("console-logs")
    for sample in (DATA / "cloudfront" / "samples").rglob("*"):
        if sample.is_file():
            shutil.copy(sample, logs / f"{sample.parent.name}-{sample.name}")
    (logs / "E2SCAN.2024-03-01-12.a").write_text(log_text(*scan_lines()))
    captures = tmp_path_factory.mktemp("console-captures")
    shutil.copy(DATA / "pcap" / "kitchen_boss.pcap", captures)
    with fresh_pg_database("netsift_console") as url:
        engine, settings = engine_for(url), Settings(database_url=url)
        for obj in list_local(logs, Window.of()):
            result = load_object(engine, obj, settings)  # the mapbox .gz is its plain twin
            assert result.status == "loaded" or result.error.startswith("same content as"), obj.uri
        for obj in list_local(captures, Window.of()):
            assert load_capture(engine, obj, settings).status == "loaded", obj.uri
        detect(engine, load_rules())
        yield url


@pytest.fixture(scope="module")
def console(loaded, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("console") / "browse.log"
    process = start_process([NETSIFT, "browse", "--port", str(port)], log, {"NETSIFT_DATABASE_URL": loaded})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/", process, 60, log)
        yield base
    finally:
        stop_process(process)


def sql(url: str, query: str, **params):
    with engine_for(url).connect() as conn:
        return conn.execute(text(query), params).all()


def column_texts(page, column: str) -> list[str]:
    return page.locator(f'.ag-center-cols-container .ag-row .ag-cell[col-id="{column}"]').all_inner_texts()


def headers(page) -> list[str]:
    return page.locator('[role="columnheader"][col-id]').evaluate_all("cells => cells.map(c => c.getAttribute('col-id'))")


def wait_until(check, what, seconds: float = 30):
    """`what` may be a callable, to describe the page as it is when the wait fails."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.2)


@pytest.fixture
def page(console, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        # The console needs nothing from the internet: any other request fails the page.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(console)
                   else route.abort())  # fmt: skip
        page.goto(console + "/")
        page.locator(".ag-center-cols-container .ag-row").first.wait_for()
        yield page
        browser.close()


def screenshot(page, name: str, tmp_path: Path) -> None:
    folder = ROOT / "docs" if SCREENSHOTS_TO_DOCS else tmp_path
    page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_filter_sort_hide_and_export_run_on_the_server(page, loaded, console, tmp_path):
    hidden = ("cs_method", "cs_host", "cs_uri_query", "cs_cookie")
    # A column the analyst widened stays wide when others are hidden.
    stem = page.locator('[role="columnheader"][col-id="cs_uri_stem"]')
    before = stem.bounding_box()["width"]
    handle = stem.locator(".ag-header-cell-resize").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] + 120, handle["y"] + handle["height"] / 2, steps=5)
    page.mouse.up()
    widened = wait_until(lambda: stem.bounding_box()["width"] > before + 100 and stem.bounding_box()["width"], "a wider column")
    page.locator("#hidden").click()
    for name in hidden:
        page.locator(".dash-dropdown-search").fill(name)
        # The list shows only the one match before it is clicked, so the click
        # cannot land on a row of the list it replaces.
        wait_until(lambda n=name: page.get_by_role("option").all_inner_texts() == [n], f"{name} alone in the list")
        page.get_by_role("option", name=name, exact=True).click()
        wait_until(lambda n=name: page.get_by_role("option", name=n, exact=True).get_attribute("aria-selected") == "true",
                   f"{name} ticked")  # fmt: skip
        wait_until(lambda n=name: page.locator(f'[role="columnheader"][col-id="{n}"]').count() == 0,
                   lambda n=name: f"{n} hidden; headers still shown: {headers(page)}")  # fmt: skip
    page.keyboard.press("Escape")
    for name in hidden:
        assert page.locator(f'[role="columnheader"][col-id="{name}"]').count() == 0, f"{name} shown again"
    assert stem.bounding_box()["width"] == widened

    page.locator('.ag-floating-filter[col-id="cs_uri_stem"] input').fill("wp")
    matching = sql(loaded, "SELECT cs_uri_stem, sc_bytes, is_probe FROM cloudfront_requests_classified "
                           "WHERE cs_uri_stem LIKE '%wp%' ORDER BY sc_bytes")  # fmt: skip
    # Case-sensitive, as in Dash's DataTable: the scan's four WordPress paths,
    # not the sample's image /WPbEddoyH-T.jpg. Only probe rows remain.
    assert len(matching) == 4
    wait_until(lambda: page.locator("#count").inner_text() == "4 rows", "the filtered count")
    wait_until(lambda: len(column_texts(page, "cs_uri_stem")) == 4, "the filtered rows")
    shown = dict(zip(column_texts(page, "cs_uri_stem"), column_texts(page, "is_probe")))
    assert shown == {
        "/wp-login.php": "true", "/wp-admin/install.php": "true", "/wp-content/plugins/revslider/readme.txt": "true",
        "/wp-config.php.bak": "true"}  # fmt: skip

    ascending = [str(size) for _, size, _ in matching]
    sort = page.locator('[role="columnheader"][col-id="sc_bytes"] .ag-header-cell-label')
    sort.click()
    wait_until(lambda: column_texts(page, "sc_bytes") == ascending, "ascending sc_bytes")
    sort.click()
    wait_until(lambda: column_texts(page, "sc_bytes") == ascending[::-1], "descending sc_bytes")
    screenshot(page, "console-table.png", tmp_path)

    href = wait_until(lambda: "sc_bytes" in (page.locator("#export").get_attribute("href") or "")
                      and page.locator("#export").get_attribute("href"), "the export link")  # fmt: skip
    exported = list(csv.DictReader(io.StringIO(page.request.get(console + href).text())))
    assert [r["sc_bytes"] for r in exported] == ascending[::-1]
    assert not set(hidden) & set(exported[0]) and "cs_uri_stem" in exported[0]
    assert {r["cs_uri_stem"]: r["is_probe"] for r in exported} == shown


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_numbers_filter_by_typed_comparisons(page, loaded):
    page.locator('.ag-floating-filter[col-id="sc_status"] input').fill("> 400")
    expected = sql(loaded, "SELECT count(*) FROM cloudfront_requests WHERE sc_status > 400")[0][0]
    assert expected > 0
    wait_until(lambda: page.locator("#count").inner_text() == f"{expected} rows", "the count of sc_status > 400")
    statuses = wait_until(lambda: column_texts(page, "sc_status"), "rows")
    assert all(int(status) > 400 for status in statuses)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_attacker_strings_show_as_text_in_the_grid_and_in_exports(page, console):
    page.locator('.ag-floating-filter[col-id="cs_user_agent"] input').fill("onerror")
    wait_until(lambda: set(column_texts(page, "cs_user_agent")) == {HOSTILE_AGENT}, "the hostile user agent")
    assert set(column_texts(page, "cs_uri_stem")) == {HOSTILE_PATH}
    assert page.locator(".ag-root img").count() == 0
    assert page.locator(".ag-root a").count() == 0
    assert page.title() != "pwned"

    href = "/export.csv?table=cloudfront_requests_classified&columns=cs_user_agent&filter=" + urllib.request.quote(
        '{"cs_user_agent": {"filterType": "text", "type": "startsWith", "filter": "=HYPER"}}')  # fmt: skip
    assert page.request.get(console + href).text().splitlines() == ["cs_user_agent", '"\'' + FORMULA_AGENT.replace('"', '""') + '"']
    # With no column hidden, an export holds every column in the grid's order.
    header = page.request.get(console + "/export.csv?table=alerts").text().splitlines()[0]
    assert header.startswith("last_seen,rule,severity,source,client_ip,hits,distinct_paths,")
    assert header.endswith(",id")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_every_plot_renders_escapes_labels_and_filters_the_grid_on_click(page, loaded, tmp_path):
    page.get_by_text("Charts", exact=True).click()
    plots = page.locator(".js-plotly-plot")
    wait_until(lambda: plots.count() == 6 and all(plots.nth(i).locator(".main-svg").count() for i in range(6)),
               "six plots")  # fmt: skip
    titles = [plots.nth(i).locator(".gtitle").text_content() for i in range(6)]
    assert [t.split(":")[-1].strip() for t in titles[:5]] == [
        "human, bot, probe", "top and bottom URIs by requests", "bot requests by category",
        "probing clients by probe category", "response bytes by host and MIME type"]  # fmt: skip
    assert titles[5].startswith("Alerts per")
    for i in range(6):
        wait_until(lambda i=i: plots.nth(i).locator(".bars path, .point path").count() > 0, f"bars in {titles[i]}")
    # The hostile path is a tick label, as text: no link, no markup.
    ticks = plots.nth(1).locator(".ytick text").all_text_contents()
    assert any('<a href="javascript:alert(1)">' in t for t in ticks), [t for t in ticks if "click" in t or "href" in t] or ticks[-5:]
    assert page.locator(".js-plotly-plot .ytick a, .js-plotly-plot .xtick a, .js-plotly-plot .legend a").count() == 0
    for i in range(6):
        assert_labels_readable(plots.nth(i), titles[i])
    screenshot(page, "console-charts.png", tmp_path)

    # A click on a probing client's bar shows exactly its probes, and the
    # count above the grid is the grid's own.
    target = json.loads(plots.nth(3).evaluate("gd => gd.data[0].customdata[0]"))["filter"]
    ip, category = target["c_ip"]["filter"], target["probe_category"]["filter"]
    plots.nth(3).locator(".trace.bars").first.locator("path").first.click(force=True)
    page.locator('#tabs .tab--selected:has-text("Tables")').wait_for()
    expected = sql(loaded, "SELECT count(*) FROM cloudfront_requests_classified WHERE is_probe AND c_ip = :ip "
                           "AND probe_category = :category", ip=ip, category=category)[0][0]  # fmt: skip
    wait_until(lambda: page.locator("#count").inner_text() == f"{expected} rows", "the count of the clicked bar")
    assert_count_agrees_with_grid(page, expected)
    assert set(column_texts(page, "c_ip")) == {ip} and set(column_texts(page, "probe_category")) == {category}

    # The human bar of the split holds no request of the masked scanner.
    page.get_by_text("Charts", exact=True).click()
    target = json.loads(plots.nth(0).evaluate("gd => gd.data[0].customdata[0]"))["filter"]
    assert gd_name(plots.nth(0)) == "human" and set(target) == {"ts", "is_human"}
    humans = sql(loaded, "SELECT count(*) FROM cloudfront_requests_classified WHERE is_human "
                         "AND ts >= CAST(:a AS timestamptz) AND ts < CAST(:b AS timestamptz)",
                 a=target["ts"]["dateFrom"] + "+00", b=target["ts"]["dateTo"] + "+00")[0][0]  # fmt: skip
    plots.nth(0).locator(".trace.bars").first.locator("path").first.click(force=True)
    page.locator('#tabs .tab--selected:has-text("Tables")').wait_for()
    wait_until(lambda: page.locator("#count").inner_text() == f"{humans:,} rows", "the human rows")
    assert_count_agrees_with_grid(page, humans)
    assert MASKED not in column_texts(page, "c_ip") and SCANNER not in column_texts(page, "c_ip")

    # PCAP side: the workbench notebook's bytes by host and MIME type, and an empty chart.
    page.get_by_text("Charts", exact=True).click()
    page.get_by_text("PCAP HTTP", exact=True).click()
    wait_until(lambda: "PCAP HTTP" in plots.nth(4).locator(".gtitle").text_content(), "the PCAP plots")
    wait_until(lambda: "www.kitchenboss.com.au" in plots.nth(4).locator(".ytick text").all_text_contents(), "hosts")
    for i in range(6):
        assert_labels_readable(plots.nth(i), f"PCAP plot {i}")
    # Every MIME type its own colour.
    fills = [trace.locator("path").first.evaluate("p => getComputedStyle(p).fill")
             for trace in plots.nth(4).locator(".trace.bars").all()]  # fmt: skip
    assert len(fills) >= 12 and len(set(fills)) == len(fills), fills
    # No probe in the capture: the chart says so, with no made-up axes.
    empty = plots.nth(3)
    wait_until(lambda: "no data" in empty.locator(".annotation-text").all_text_contents(), "no data")
    assert empty.locator(".xtick, .ytick").count() == 0
    screenshot(page, "console-pcap-bytes.png", tmp_path)


def gd_name(plot) -> str:
    return plot.evaluate("gd => gd.data[0].name")


def assert_labels_readable(plot, what: str) -> None:
    """Every tick label and legend entry inside the figure, none overlapping another."""
    figure = plot.locator(".main-svg").first.bounding_box()
    boxes = []
    for label in plot.locator(".xtick text, .ytick text, .legendtext").all():
        box = label.bounding_box()
        if not box or not box["width"]:
            continue
        assert box["x"] >= figure["x"] - 1 and box["x"] + box["width"] <= figure["x"] + figure["width"] + 1, (
            what, label.text_content(), "cut off")
        assert box["y"] >= figure["y"] - 1 and box["y"] + box["height"] <= figure["y"] + figure["height"] + 1, (
            what, label.text_content(), "cut off")
        boxes.append((label.text_content(), box))
    for i, (a, p) in enumerate(boxes):
        for b, q in boxes[i + 1:]:
            overlap_x = min(p["x"] + p["width"], q["x"] + q["width"]) - max(p["x"], q["x"])
            overlap_y = min(p["y"] + p["height"], q["y"] + q["height"]) - max(p["y"], q["y"])
            assert overlap_x <= 1 or overlap_y <= 1, (what, a, b, "overlap")


def assert_count_agrees_with_grid(page, n: int) -> None:
    """The count above the grid, the grid's own pager and its rows say the same."""
    summary = page.locator(".ag-paging-row-summary-panel")
    wait_until(lambda: summary.inner_text().replace(",", "").split()[-1] == str(n), f"the pager's {n}")
    if n <= 10:  # rows beyond the grid's height are not rendered (virtual rows)
        wait_until(lambda: page.locator(".ag-center-cols-container .ag-row").count() == n, f"{n} grid rows")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_analyst_views_are_tables_and_counts_follow_the_grid(page, loaded, tmp_path):
    page.locator("#table").click()
    page.get_by_text("Traffic per URI (uri_traffic)", exact=True).click()
    wait_until(lambda: page.locator('[role="columnheader"]').first.get_attribute("col-id") == "uri", "uri first")
    headers = [h.get_attribute("col-id") for h in page.locator('[role="columnheader"]').all()[:4]]
    assert headers == ["uri", "requests", "human_requests", "bot_requests"]
    total = sql(loaded, "SELECT count(*) FROM uri_traffic")[0][0]
    wait_until(lambda: page.locator("#count").inner_text() == f"{total} rows", "every URI counted")
    assert_count_agrees_with_grid(page, total)
    busiest = sql(loaded, "SELECT requests FROM uri_traffic ORDER BY requests DESC LIMIT 3")
    assert [int(v) for v in column_texts(page, "requests")[:3]] == [r[0] for r in busiest]
    page.locator('.ag-floating-filter[col-id="uri"] input').fill("= /")
    root = sql(loaded, "SELECT requests, human_requests, bot_requests FROM uri_traffic WHERE uri = '/'")[0]
    wait_until(lambda: page.locator("#count").inner_text() == "1 rows", "the row of /")
    assert_count_agrees_with_grid(page, 1)
    assert [int(column_texts(page, c)[0]) for c in ("requests", "human_requests", "bot_requests")] == list(root)
    screenshot(page, "console-uri-traffic.png", tmp_path)

    page.locator("#table").click()
    page.get_by_text("Referrers of human requests (human_referrers)", exact=True).click()
    wait_until(lambda: page.locator('[role="columnheader"]').first.get_attribute("col-id") == "referrer", "referrers")
    referrers = wait_until(lambda: column_texts(page, "referrer"), "referrer rows")
    assert "https://scanner.example/" not in referrers
    count = sql(loaded, "SELECT count(*) FROM human_referrers")[0][0]
    wait_until(lambda: page.locator("#count").inner_text() == f"{count} rows", "the referrers' count")
    assert_count_agrees_with_grid(page, count)

    # Typing a filter, then another: the count is always the grid's.
    page.locator("#table").click()
    page.get_by_text("CloudFront requests (cloudfront_requests_classified)", exact=True).click()
    box = page.locator('.ag-floating-filter[col-id="cs_uri_stem"] input')
    for typed in ("w", "wp", "/"):
        box.fill(typed)
        n = sql(loaded, "SELECT count(*) FROM cloudfront_requests WHERE cs_uri_stem LIKE :p", p=f"%{typed}%")[0][0]
        wait_until(lambda n=n: page.locator("#count").inner_text() == f"{n:,} rows", f"the count for {typed}")
        assert_count_agrees_with_grid(page, n)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_bidi_overrides_show_as_code_points_in_the_grid(page):
    page.locator('.ag-floating-filter[col-id="cs_user_agent"] input').fill("sqlmap/1.7")
    wait_until(lambda: column_texts(page, "cs_user_agent") == ["sqlmap/1.7 <U+202E>gnp.exe"], "the visible override")


def test_console_refuses_the_network_without_a_token(loaded, tmp_path):
    env = {**os.environ, "NETSIFT_DATABASE_URL": loaded}
    env.pop("NETSIFT_BROWSE_TOKEN", None)
    refused = subprocess.run([NETSIFT, "browse", "--host", "0.0.0.0"], env=env, capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    assert refused.returncode == 2 and "NETSIFT_BROWSE_TOKEN" in refused.stdout + refused.stderr

    token = "correct-horse-battery-staple"
    port = free_port()
    process = start_process([NETSIFT, "browse", "--host", "0.0.0.0", "--port", str(port)], tmp_path / "b.log",
                            {"NETSIFT_DATABASE_URL": loaded, "NETSIFT_BROWSE_TOKEN": token})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        status = wait_until(lambda: _status(base + "/"), "the console", 60)
        assert status == 401
        assert _status(base + "/export.csv?table=alerts") == 401
        assert _status(base + "/_dash-layout", headers={"Authorization": "Bearer wrong-token-wrong-token"}) == 401
        assert _status(base + "/_dash-layout", headers={"Authorization": f"Bearer {token}"}) == 200
        opener = urllib.request.build_opener(_NoRedirect)
        response = _open(opener, base + f"/?token={token}")
        assert response.status == 302 and response.headers["Location"] == "/"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert _status(base + "/", headers={"Cookie": cookie.split(";")[0]}) == 200
    finally:
        stop_process(process)


def test_console_on_loopback_refuses_foreign_host_headers(console):
    assert _status(console + "/") == 200
    # A page that rebinds its own name to 127.0.0.1 still sends its own Host.
    assert _status(console + "/", headers={"Host": "attacker.example"}) == 403
    # Exports take the same checks as pages: unknown names and malformed JSON are refused.
    assert _status(console + "/export.csv?table=pg_shadow") == 400
    assert _status(console + "/export.csv?table=alerts&columns=rule,(select+1)") == 400
    assert _status(console + "/export.csv?table=alerts&filter=%7Bnot+json") == 400
    assert _status(console + "/export.csv?table=alerts&filter=" + "%5B" * 5000 + "%5D" * 5000) == 400
    assert _status(console + "/export.csv?table=alerts") == 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _open(opener, url, headers=None):
    try:
        return opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10)
    except urllib.error.HTTPError as error:
        return error


def _status(url: str, headers=None) -> int | None:
    try:
        return _open(urllib.request.build_opener(_NoRedirect), url, headers).status
    except (urllib.error.URLError, ConnectionError):
        return None
