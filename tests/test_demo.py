"""The demo finds what it is for: the bundled traffic (our generator's, with
a WordPress scanner and a config-leak prober) and the real drive-by capture
go through load and detection, and the summary names the scanner's address
and the executable's sha256."""

from __future__ import annotations

import filecmp

from bench.demo_traffic import LEAK_PROBER, SCANNER, write
from netsift.analyst.findings import findings
from netsift.capture.load import load_capture
from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.ingest.sources import Window, list_local
from netsift.settings import Settings
from tests.conftest import DATA

DEMO = DATA / "cloudfront" / "demo"
DRIVE_BY_EXE = "e4bbdc8f869502183293797f51d6d64cc6c49d39b82effbcb738abe511054b51"  # kitchen_boss, per its notebook


def test_the_bundled_demo_logs_are_what_the_generator_writes(tmp_path):
    written = write(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in DEMO.glob("*.gz"))
    assert all(filecmp.cmp(p, DEMO / p.name, shallow=False) for p in written)


def test_the_demo_finds_the_scanner_the_prober_and_the_executable(db):
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(DEMO, Window.of()):
        assert load_object(engine, obj, settings).status == "loaded"
    for obj in list_local(DATA / "pcap" / "kitchen_boss.pcap", Window.of()):
        assert load_capture(engine, obj, settings).status in ("loaded", "partial")
    detect(engine, load_rules())

    found = {title: (columns, rows) for title, columns, rows in findings(engine)}
    alert_columns, alerts = found["Alerts"]
    by_rule = {(row[alert_columns.index("rule")], row[alert_columns.index("client_ip")]) for row in alerts}
    assert ("wordpress-probe", SCANNER) in by_rule and ("config-leak-probe", LEAK_PROBER) in by_rule
    probing = [row[0] for row in found["Top probing clients"][1]]
    assert probing[:2] == [SCANNER, LEAK_PROBER]
    share = {row[0]: row for row in found["Bot share"][1]}
    assert 0 < share["cloudfront"][2] < share["cloudfront"][1]  # crawlers and scripts, not everyone
    executables = found["Executables carried over HTTP"][1]
    assert DRIVE_BY_EXE in {row[-1] for row in executables}
    assert any("focondteavrt.ru" in (row[0] or "") for row in executables)


def test_netsift_findings_prints_what_we_found_in_a_pipe(sqlite_db):
    import subprocess
    import sys
    from pathlib import Path

    engine, settings = engine_for(sqlite_db), Settings(database_url=sqlite_db)
    for obj in list_local(DEMO, Window.of()):
        load_object(engine, obj, settings)
    detect(engine, load_rules())
    shown = subprocess.run([str(Path(sys.executable).parent / "netsift"), "findings", "--database-url", sqlite_db],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "What we found" and "# Alerts" in lines
    assert any(line.split("\t")[:4] == ["medium", "wordpress-probe", "cloudfront", SCANNER] for line in lines)
    assert "# Executables carried over HTTP" in lines
