"""Flow `cloudfront-ingest`: CloudFront standard access logs into the database.

Only orchestration lives here: list, load the objects not loaded yet (in
batches fanned out on the task runner), report. The tasks are in tasks/, the
work they wrap in the netsift library.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from prefect import flow
from prefect.runtime import flow_run

from netsift.tasks.cloudfront import list_cloudfront_objects, load_cloudfront_batch
from netsift.tasks.schema import upgrade_schema
from netsift.settings import Settings
from netsift.tasks.fanout import load_each, report, task_runner_for


def run_name() -> str:
    """What the run is about: `cloudfront s3://logs/cf 2026-11-01..2026-11-02 E2ABC`,
    `cloudfront ./logs` (everything), `cloudfront s3://logs/cf last 26h`."""
    return window_name(flow_run.parameters)


def window_name(params: dict) -> str:
    since, until = params.get("since"), params.get("until")
    if since or until:
        span = f"{since}..{until}" if since and until else (f"since {since}" if since else f"until {until}")
    elif params.get("lookback_hours"):
        span = f"last {params['lookback_hours']}h"
    else:
        span = ""
    return " ".join(part for part in ("cloudfront", params["source"], span, params.get("distribution")) if part)


@flow(
    name="cloudfront-ingest",
    flow_run_name=run_name,
    task_runner=task_runner_for(Settings()),
)
def cloudfront_ingest(
    source: str,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    distribution: str | None = None,
    lookback_hours: int | None = None,
):
    """Load every object under `source` not loaded yet.

    source: s3://bucket/prefix, or a local file or folder.
    since/until: the hours in the objects' names, or in the folders of a v2
    partitioned layout; `until` as a bare date includes that whole day.
    distribution: a CloudFront distribution id, to list only its objects.
    lookback_hours: for schedules, `since` = now minus this many hours when
    `since` is not given (CloudFront delivers some files up to 24 h late).
    """
    if since is None and lookback_hours:
        since = datetime.now(timezone.utc) - timedelta(hours=lookback_hours)
    upgrade_schema()
    objects = list_cloudfront_objects(source, distribution, since, until)
    results = load_each(load_cloudfront_batch, objects)
    return report("cloudfront-ingest", source, results)
