"""Incremental detection raises exactly the alerts one full recompute raises:
many small increments, late objects landing in old windows, scans across
window boundaries, a reloaded object, and probe paths that later turn out to
be the site's own pages."""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for, upgrade
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.ingest.sources import Window, list_local
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text
from tests.conftest import fresh_pg_database

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
START = datetime(2024, 3, 1, 11, 0, tzinfo=timezone.utc)
PROBES = ["/wp-login.php", "/xmlrpc.php", "/wp-admin/", "/wp-config.php.bak", "/.env", "/.git/config",
          "/phpmyadmin/", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/shell.php", "/admin.php",
          "/wp-includes/wlwmanifest.xml", "/wp-json/wp/v2/users"]  # fmt: skip


def request(at: datetime, ip: str, path: str, status: int, agent: str) -> str:
    return line(date=at.strftime("%Y-%m-%d"), time=at.strftime("%H:%M:%S"), c_ip=ip, cs_uri_stem=path,
                sc_status=str(status), cs_user_agent=agent.replace(" ", "%20"))  # fmt: skip


def traffic(seed: int) -> list[tuple[datetime, str]]:
    """Three hours of a site: visitors, crawlers, scanners (some across
    10-minute boundaries), a bot over its hourly threshold."""
    rng = random.Random(seed)
    out = []
    for _ in range(120):  # visitors
        at = START + timedelta(seconds=rng.randrange(3 * 3600))
        out.append((at, request(at, f"192.0.2.{rng.randrange(1, 40)}", rng.choice(["/", "/blog/", "/about"]), 200, FIREFOX)))
    for n in range(8):  # scanners: a few probes within minutes, some straddling :x0 boundaries
        ip = f"203.0.113.{n + 1}"
        base = START + timedelta(minutes=rng.randrange(170), seconds=rng.choice([0, 570, 590, 598]))
        for path in rng.sample(PROBES, rng.randrange(2, 6)):
            at = base + timedelta(seconds=rng.randrange(0, 400))
            out.append((at, request(at, ip, path, rng.choice([404, 404, 403, 200]), "python-requests/2.31.0")))
    for _ in range(70):  # a busy script
        at = START + timedelta(seconds=rng.randrange(5400))
        out.append((at, request(at, "198.51.100.7", "/api/items", 200, "Go-http-client/1.1")))
    return out


def wordpress_scans() -> list[str]:
    """One scan of strong fingerprints, one of login pages that later turn out
    to be the site's own (its alert must go then)."""
    out = []
    for ip, paths in (("203.0.113.50", ["/wp-includes/wlwmanifest.xml", "/wp-json/wp/v2/users", "/xmlrpc.php"]),
                      ("203.0.113.51", ["/wp-login.php", "/wp-admin/", "/xmlrpc.php"])):  # fmt: skip
        for second, path in enumerate(paths):
            out.append(request(START + timedelta(minutes=20, seconds=second), ip, path, 404, "python-requests/2.31.0"))
    # Plugin enumeration: twelve folders the site never serves, and twelve
    # the site turns out to serve (visitors_logging_in), whose alert must go.
    for ip, plugins in (("203.0.113.52", UNSERVED_PLUGINS), ("203.0.113.53", SERVED_PLUGINS)):
        for second, name in enumerate(plugins):
            out.append(request(START + timedelta(minutes=40, seconds=5 * second), ip, f"/wp-content/plugins/{name}/",
                               404, "python-requests/2.31.0"))  # fmt: skip
    return out


UNSERVED_PLUGINS = [f"revslider-{n}" for n in range(12)]
SERVED_PLUGINS = [f"site-plugin-{n}" for n in range(12)]


def visitors_logging_in() -> list[str]:
    return [request(START + timedelta(minutes=150 + n), "192.0.2.200", path, 200, FIREFOX)
            for n, path in enumerate(["/wp-login.php", "/wp-admin/"])] + [
        request(START + timedelta(minutes=160, seconds=n), "192.0.2.201", f"/wp-content/plugins/{name}/js/app.js", 200, FIREFOX)
        for n, name in enumerate(SERVED_PLUGINS)]  # fmt: skip


def write_objects(folder, requests, parts: int, rng: random.Random) -> list:
    """The requests as `parts` log objects, in a shuffled order of delivery."""
    folder.mkdir(exist_ok=True)
    chunks = [requests[i::parts] for i in range(parts)]
    rng.shuffle(chunks)
    paths = []
    for number, chunk in enumerate(chunks):
        path = folder / f"E2INC.2024-03-01-{number:02d}.part{number}"
        path.write_text(log_text(*(text for _, text in sorted(chunk))))
        paths.append(path)
    return paths


def load(url, path):
    engine = engine_for(url)
    for obj in list_local(path, Window.of()):
        load_object(engine, obj, Settings(database_url=url))


def alerts_of(url):
    with engine_for(url).connect() as conn:
        rows = conn.execute(text(
            "SELECT rule, source, client_ip, window_start, first_seen, last_seen, hits, distinct_paths, "
            "status_codes, severity FROM alerts ORDER BY rule, client_ip, window_start"))  # fmt: skip
        return [tuple(str(v) for v in row) for row in rows]


@contextmanager
def another_database(db, tmp_path):
    if db.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'full.db'}"
        upgrade(url)
        yield url
    else:
        with fresh_pg_database("netsift_full") as url:
            yield url


def test_incremental_runs_raise_exactly_the_alerts_of_one_full_recompute(db, tmp_path):
    rng = random.Random(7)
    requests = traffic(seed=11)
    objects = write_objects(tmp_path / "logs", requests, parts=12, rng=rng)
    (tmp_path / "logs" / "E2INC.2024-03-01-11.scans").write_text(log_text(*wordpress_scans()))
    (tmp_path / "logs" / "E2INC.2024-03-01-13.site").write_text(log_text(*visitors_logging_in()))
    objects = [tmp_path / "logs" / "E2INC.2024-03-01-11.scans", *objects, tmp_path / "logs" / "E2INC.2024-03-01-13.site"]
    rules = load_rules()
    with another_database(db, tmp_path) as full:
        # Incremental: detection after every object (and twice, now and then).
        removed = 0
        for number, path in enumerate(objects):
            load(db, path)
            removed += detect(engine_for(db), rules).removed
            if number % 4 == 0:
                assert detect(engine_for(db), rules).objects == 0
        # One object is replaced by a new version with a request more: reloaded, seen again.
        extra = request(START + timedelta(minutes=31), "203.0.113.99", "/.env", 404, "curl/8.5.0")
        objects[3].write_text(objects[3].read_text() + extra + extra.replace("/.env", "/.git/config"))
        load(db, objects[3])
        detect(engine_for(db), rules)

        for path in objects:
            load(full, path)
        detect(engine_for(full), rules)

        incremental, recomputed = alerts_of(db), alerts_of(full)
        assert incremental == recomputed
        rules_fired = {row[0] for row in recomputed}
        assert {"wordpress-probe", "config-leak-probe", "bot-traffic"} <= rules_fired
        clients = {(row[0], row[2]) for row in recomputed}
        assert ("wordpress-probe", "203.0.113.50") in clients and ("wordpress-probe", "203.0.113.51") not in clients
        assert ("config-leak-probe", "203.0.113.99") in clients
        assert ("wordpress-enumeration", "203.0.113.52") in clients
        assert ("wordpress-enumeration", "203.0.113.53") not in clients
        assert removed, "the login-page scan's alert was raised, then removed once the site was seen serving it"


def test_a_scan_across_a_window_boundary_raises_one_alert(db, tmp_path):
    at = datetime(2024, 3, 1, 12, 9, 58, tzinfo=timezone.utc)
    lines = [request(at + timedelta(seconds=s), "203.0.113.66", path, 404, "python-requests/2.31.0")
             for s, path in ((0, "/wp-login.php"), (1, "/xmlrpc.php"), (3, "/wp-includes/wlwmanifest.xml"))]  # fmt: skip
    (tmp_path / "scan.log").write_text(log_text(*lines))
    load(db, tmp_path / "scan.log")
    result = detect(engine_for(db), load_rules())
    (alert,) = [a for a in result.new if a["rule"] == "wordpress-probe"]
    assert (alert["hits"], alert["distinct_paths"]) == (3, 3)
    assert alert["window_start"] == datetime(2024, 3, 1, 12, 10, tzinfo=timezone.utc)
    assert alert["first_seen"] == at


def test_a_late_object_counts_in_its_old_window(db, tmp_path):
    rules = load_rules()
    at = datetime(2024, 3, 1, 12, 10, 5, tzinfo=timezone.utc)
    (tmp_path / "a.log").write_text(log_text(
        request(at, "203.0.113.5", "/.env", 404, "curl/8.5.0")))  # fmt: skip
    load(db, tmp_path / "a.log")
    assert detect(engine_for(db), rules).new == []  # one config path: under the threshold of 2
    (tmp_path / "b.log").write_text(log_text(request(at + timedelta(hours=5), "192.0.2.1", "/", 200, FIREFOX)))
    load(db, tmp_path / "b.log")
    detect(engine_for(db), rules)
    # Delivered hours late, and from the window before: it completes the scan.
    (tmp_path / "late.log").write_text(log_text(
        request(at - timedelta(seconds=15), "203.0.113.5", "/.git/config", 404, "curl/8.5.0")))  # fmt: skip
    load(db, tmp_path / "late.log")
    late = detect(engine_for(db), rules)
    assert [(a["rule"], a["client_ip"], a["hits"], a["window_start"]) for a in late.new] == [
        ("config-leak-probe", "203.0.113.5", 2, datetime(2024, 3, 1, 12, 10, tzinfo=timezone.utc))]
