"""What `netsift status` shows: the state of the feeds, to spot a stalled one."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, text

from netsift.db import normalized_url, utc_datetime
from netsift.settings import redacted

STALE_AFTER = timedelta(hours=3)  # CloudFront delivers within the hour, sometimes later


def feed_status(engine: Engine, now: datetime | None = None) -> dict:
    """Objects per kind and state; per distribution and per capture folder,
    the newest traffic and the last load, with `stale` when nothing arrived
    for STALE_AFTER."""
    now = now or datetime.now(timezone.utc)
    with engine.connect() as conn:
        objects = [dict(r._mapping) for r in conn.execute(text(
            "SELECT kind, status, COUNT(*) AS objects, SUM(rows_loaded) AS rows_loaded, "
            "MAX(updated_at) AS last_change FROM source_objects GROUP BY kind, status ORDER BY kind, status"))]
        for row in objects:  # PostgreSQL sums bigints as numeric: numbers stay numbers in --json
            row["rows_loaded"] = None if row["rows_loaded"] is None else int(row["rows_loaded"])
        distributions = [dict(r._mapping) for r in conn.execute(text(
            "SELECT COALESCE(r.distribution_id, '(unnamed)') AS distribution, MAX(r.ts) AS newest_request, "
            "MAX(o.loaded_at) AS last_loaded, COUNT(DISTINCT o.id) AS objects "
            "FROM cloudfront_requests r JOIN source_objects o ON o.id = r.source_object_id "
            "GROUP BY COALESCE(r.distribution_id, '(unnamed)') ORDER BY 1"))]
        captures = conn.execute(text(
            "SELECT o.uri, o.loaded_at, p.last_ts FROM source_objects o "
            "LEFT JOIN pcap_files p ON p.source_object_id = o.id WHERE o.kind = 'pcap'")).all()
    folders: dict[str, dict] = {}
    for uri, loaded_at, last_ts in captures:
        folder = folders.setdefault(uri.rsplit("/", 1)[0] + "/", {"folder": uri.rsplit("/", 1)[0] + "/",
                                    "captures": 0, "newest_packet": None, "last_loaded": None})  # fmt: skip
        folder["captures"] += 1
        for key, value in (("newest_packet", utc_datetime(last_ts)), ("last_loaded", utc_datetime(loaded_at))):
            if value and (folder[key] is None or value > folder[key]):
                folder[key] = value
    for feed in (*distributions, *folders.values()):
        feed["last_loaded"] = utc_datetime(feed["last_loaded"])
        feed["stale"] = feed["last_loaded"] is None or now - feed["last_loaded"] > STALE_AFTER
    for row in distributions:
        row["newest_request"] = utc_datetime(row["newest_request"])
    return {"objects": objects, "distributions": distributions, "capture_folders": sorted(folders.values(), key=lambda f: f["folder"])}


def database_tag(url: str) -> str:
    """A flow-run tag naming a database without revealing it: a hash of the
    URL with its password hidden, so `status` lists the runs of this database only."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(normalized_url(url))
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            parsed = parsed.set(database=os.path.abspath(parsed.database))  # one file, any cwd
        shown = redacted(parsed.render_as_string(hide_password=False))
    except Exception:  # an unparsable URL still gets a stable tag, still hashed
        shown = url
    return "netsift-db:" + hashlib.sha256(shown.encode()).hexdigest()[:12]


def recent_runs(tag: str, limit: int = 10) -> list[dict]:
    """The last flow runs that Prefect's configured server holds for one database tag."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])),
                                     sort=FlowRunSort.START_TIME_DESC, limit=limit)  # fmt: skip
    return [{"name": run.name, "state": run.state_name, "start": run.start_time,
             "message": (run.state.message if run.state else None)} for run in runs]  # fmt: skip
