"""Site context for every probe rule, on both databases: what the site serves
with a 2xx to ordinary visitors is not a probe, unless its rule is `always`."""

from __future__ import annotations

from netsift.db import engine_for
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from tests.test_detect import FIREFOX, load, query, requests

SCRIPT = "python-requests/2.31.0"
PROBER = "203.0.113.66"


def test_served_paths_are_not_probes_unless_the_rule_is_always(db, tmp_path):
    served = ["/downloads/tool.exe", "/install.sh", "/config.json", "/phpmyadmin/", "/.DS_Store",
              "/wp-content/plugins/akismet/readme.txt", "/.env", "/wso.php"]  # fmt: skip
    # Ordinary visitors get a 2xx on every one of them (the last two would be
    # a breach, not a page), then a script asks for the same paths.
    load(db, tmp_path, "site.log", *requests(
        *[(f"192.0.2.{10 + n}", f"12:00:{n:02d}", path, 200, FIREFOX) for n, path in enumerate(served)],
        *[(PROBER, f"12:05:{n:02d}", path, 404, SCRIPT) for n, path in enumerate(served)],
        (PROBER, "12:06:00", "/secrets.json", 404, SCRIPT),
    ))  # fmt: skip
    detect(engine_for(db), load_rules())
    rows = query(db, f"SELECT cs_uri_stem, is_probe, probe_category FROM cloudfront_requests_classified "
                     f"WHERE c_ip = '{PROBER}' ORDER BY line_number")  # fmt: skip
    assert [(path, bool(probe), category) for path, probe, category in rows] == [
        ("/downloads/tool.exe", False, None), ("/install.sh", False, None), ("/config.json", False, None),
        ("/phpmyadmin/", False, None), ("/.DS_Store", False, None),
        ("/wp-content/plugins/akismet/readme.txt", False, None),
        ("/.env", True, "config-leak"), ("/wso.php", True, "backdoor"),
        ("/secrets.json", True, "config-leak"),  # never served: still a probe
    ]  # fmt: skip
    # Two config-leak paths (/.env, /secrets.json) from the prober: its alert.
    assert query(db, "SELECT rule, client_ip FROM alerts WHERE rule = 'config-leak-probe'") == [
        ("config-leak-probe", PROBER)
    ]


def test_archives_are_downloads_not_config_leaks_unless_named_like_backups():
    from netsift.detection.probes import classify_path

    rules = load_rules()
    assert [classify_path(p, rules).is_probe for p in ("/files/netsift-1.2.tar.gz", "/dl/app.zip", "/a.7z")] == [False] * 3
    assert [classify_path(p, rules).probe_category for p in ("/backup.tar.gz", "/db.sql.gz", "/wp-config.zip")] == [
        "config-leak", "config-leak", "wordpress"
    ]


ENUMERATED = ["contact-form-7", "woocommerce", "elementor", "wordfence", "yoast", "jetpack", "akismet",
              "revslider", "wpforms-lite", "duplicator", "updraftplus", "litespeed-cache"]  # fmt: skip


def test_plugin_enumeration_raises_one_alert(db, tmp_path):
    # Twelve plugin folders, each answered 404, within two minutes.
    load(db, tmp_path, "scan.log", *requests(
        *[(PROBER, f"12:00:{5 * n:02d}", f"/wp-content/plugins/{name}/", 404, SCRIPT)
          for n, name in enumerate(ENUMERATED)],
    ))  # fmt: skip
    result = detect(engine_for(db), load_rules())
    got = [(a["rule"], a["client_ip"], a["severity"], a["distinct_paths"], a["status_codes"]) for a in result.new]
    assert got == [("wordpress-enumeration", PROBER, "medium", 12, "404")]
    assert query(db, "SELECT rule, client_ip FROM alerts") == [("wordpress-enumeration", PROBER)]


def test_a_plugin_the_site_serves_is_not_enumeration(db, tmp_path):
    visitor = "192.0.2.20"
    # The site serves contact-form-7 and its theme: a visitor's page loads
    # their assets; one asset is not in the cache yet and answered 404.
    assets = ["/wp-content/plugins/contact-form-7/includes/js/index.js",
              "/wp-content/plugins/contact-form-7/includes/css/styles.css",
              "/wp-content/themes/twentytwentyfour/style.css",
              "/wp-content/themes/twentytwentyfour/assets/fonts/inter.woff2",
              "/wp-includes/js/jquery/jquery.min.js", "/wp-includes/css/dist/block-library/style.min.css"]  # fmt: skip
    load(db, tmp_path, "site.log", *requests(
        *[(visitor, f"12:00:{n:02d}", path, 200, FIREFOX) for n, path in enumerate(assets)],
        (visitor, "12:00:30", "/wp-content/plugins/contact-form-7/includes/swv/js/index.js", 404, FIREFOX),
    ))  # fmt: skip
    engine = engine_for(db)
    assert detect(engine, load_rules()).new == []
    # Later, a script fetches files of the served plugin, theme and core it
    # never saw a visitor fetch (new paths, other folders' files): still
    # served, so no enumeration. Ten paths would reach the threshold.
    later = [f"/wp-content/plugins/contact-form-7/includes/block/{n}.js" for n in range(5)] + [
        f"/wp-content/themes/twentytwentyfour/parts/{n}.html" for n in range(3)] + [
        "/wp-includes/js/wp-embed.min.js", "/wp-includes/js/dist/hooks.min.js"]  # fmt: skip
    load(db, tmp_path, "later.log", *requests(
        *[(PROBER, f"13:00:{n:02d}", path, 404, SCRIPT) for n, path in enumerate(later)],
    ))  # fmt: skip
    assert detect(engine, load_rules()).new == []
    rows = query(db, "SELECT DISTINCT is_probe FROM cloudfront_requests_classified")
    assert [bool(probe) for (probe,) in rows] == [False]
    assert query(db, "SELECT COUNT(*) FROM alerts") == [(0,)]


def test_enumeration_alert_goes_when_its_plugins_turn_out_served(db, tmp_path):
    # The scan first, then visitors load one file of each of its plugins:
    # the alert raised on the scan is withdrawn (its paths are the site's own).
    load(db, tmp_path, "scan.log", *requests(
        *[(PROBER, f"12:00:{5 * n:02d}", f"/wp-content/plugins/{name}/", 404, SCRIPT)
          for n, name in enumerate(ENUMERATED)],
    ))  # fmt: skip
    engine = engine_for(db)
    assert [a["rule"] for a in detect(engine, load_rules()).new] == ["wordpress-enumeration"]
    load(db, tmp_path, "visits.log", *requests(
        *[(f"192.0.2.{30 + n}", f"12:30:{n:02d}", f"/wp-content/plugins/{name}/style.css", 200, FIREFOX)
          for n, name in enumerate(ENUMERATED)],
    ))  # fmt: skip
    result = detect(engine, load_rules())
    assert (result.new, result.removed) == ([], 1)
    assert query(db, "SELECT COUNT(*) FROM alerts") == [(0,)]


def test_a_304_to_a_visitor_shows_the_path_is_served_but_not_a_304_to_a_bot(db, tmp_path):
    """Not Modified: the server vouched for the visitor's cached copy, so it
    serves the path. A bot's 304 proves nothing about ordinary visitors."""
    load(db, tmp_path, "site.log", *requests(
        ("192.0.2.10", "12:00:00", "/install.sh", 304, FIREFOX),
        ("192.0.2.11", "12:00:01", "/backup.sql", 304, SCRIPT),
        (PROBER, "12:05:00", "/install.sh", 404, SCRIPT),
        (PROBER, "12:05:01", "/backup.sql", 404, SCRIPT),
    ))  # fmt: skip
    detect(engine_for(db), load_rules())
    rows = query(db, f"SELECT cs_uri_stem, is_probe FROM cloudfront_requests_classified "
                     f"WHERE c_ip = '{PROBER}' ORDER BY line_number")  # fmt: skip
    assert [(path, bool(probe)) for path, probe in rows] == [("/install.sh", False), ("/backup.sql", True)]
