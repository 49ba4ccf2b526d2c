"""Flow `detect`: classify what is new, then raise or update alerts."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from prefect.runtime import flow_run

from netsift.tasks.schema import upgrade_schema
from netsift.tasks.detection import detect_alerts


def run_name() -> str:
    since = flow_run.parameters.get("since")
    return f"detect since {since}" if since else "detect over everything loaded"


@flow(name="detect", flow_run_name=run_name)
def detect_flow(since: datetime | None = None, rules_files: list[str] | None = None) -> dict:
    """since: only requests from then on count toward alerts (all when empty).
    rules_files: extra rules files extending the bundled netsift/detection/rules/detection.yaml."""
    upgrade_schema()
    return detect_alerts(since, rules_files)
