"""Prefect task for retention: retries and a log line around netsift/retention.py."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task

from netsift.db import engine_for
from netsift.retention import prune
from netsift.settings import Settings
from netsift.tasks.retry import io_task_options


@task(name="prune-old-rows", **io_task_options())
def prune_old_rows(cutoff: datetime) -> dict[str, int]:
    removed = prune(engine_for(Settings().database_url), cutoff)
    get_run_logger().info("rows before %s removed: %s", cutoff.isoformat(), removed)
    return removed
