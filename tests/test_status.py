"""`netsift status`: stalled feeds are visible."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.analyst.status import feed_status
from netsift.capture.load import load_capture
from netsift.cloudfront.load import load_object
from netsift.ingest.sources import Window, list_local
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA


def test_feeds_per_distribution_and_capture_folder(db, tmp_path):
    (tmp_path / "cf").mkdir()
    (tmp_path / "cf" / "E1ABC.2024-03-01-10.x.gz").write_text(log_text(line(time="10:59:00")))
    (tmp_path / "caps").mkdir()
    shutil.copy(DATA / "pcap" / "http.pcap", tmp_path / "caps")
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(tmp_path / "cf", Window.of()):
        load_object(engine, obj, settings)
    for obj in list_local(tmp_path / "caps", Window.of()):
        load_capture(engine, obj, settings)

    fresh = feed_status(engine)
    (distribution,) = fresh["distributions"]
    assert (distribution["distribution"], distribution["objects"], distribution["stale"]) == ("E1ABC", 1, False)
    assert distribution["newest_request"] == datetime(2024, 3, 1, 10, 59, tzinfo=timezone.utc)
    (folder,) = fresh["capture_folders"]
    assert folder["folder"].endswith("/caps/") and folder["captures"] == 1 and not folder["stale"]
    assert {(o["kind"], o["status"], o["objects"]) for o in fresh["objects"]} == {("cloudfront", "loaded", 1), ("pcap", "loaded", 1)}

    later = feed_status(engine, now=datetime.now(timezone.utc) + timedelta(hours=4))
    assert later["distributions"][0]["stale"] and later["capture_folders"][0]["stale"]
