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
