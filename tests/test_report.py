"""`netsift report`: the first questions, answered on both databases."""

from __future__ import annotations

import shutil

from netsift.db import engine_for
from netsift.analyst.report import overview
from netsift.settings import Settings
from netsift.capture.load import load_capture
from netsift.cloudfront.load import load_object
from netsift.ingest.sources import Window, list_local
from tests.conftest import DATA


def test_overview_answers_on_real_samples(db, tmp_path):
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(DATA / "cloudfront" / "samples", Window.of()):
        load_object(engine, obj, settings)
    shutil.copy(DATA / "pcap" / "kitchen_boss.pcap", tmp_path)
    for obj in list_local(tmp_path, Window.of()):
        load_capture(engine, obj, settings)
    answers = {title: (columns, rows) for title, columns, rows in overview(engine)}
    assert answers["Top clients"][1][0][:2] == ("46.118.100.87", 100)
    assert answers["Status codes"][1] == [(200, 110), (301, 1), (302, 1)]
    files = answers["Files over HTTP that are neither text nor images"][1]
    md5s = {row[3] for row in files}
    assert {"4410133f571476f2e76e29e61767b557", "16cf037b8c8caad6759afc8c309de0f9"} <= md5s
    dns = answers["Top DNS queries"][1]
    assert len(dns) == 10 and dns[0] == ("2496128308-6.focondteavrt.ru", "A", 1)
