"""Prefect task keeping the schema current: every flow runs it first."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from netsift.db import upgrade
from netsift.settings import Settings, redacted
from netsift.tasks.retry import retry_if_transient


@task(name="upgrade-schema", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient)  # a missing database is not retried
def upgrade_schema() -> None:
    url = Settings().database_url
    get_run_logger().info("schema up to date on %s", redacted(url))
    upgrade(url)
