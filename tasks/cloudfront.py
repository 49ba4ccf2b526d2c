"""Prefect tasks for CloudFront ingestion: thin wrappers adding retries,
names and logging to the library (netsift/ingest/sources.py, netsift/cloudfront/load.py).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from netsift.cloudfront.load import KIND, ObjectResult, load_object
from netsift.cloudfront.parse import PARSER_VERSION
from netsift.tasks.fanout import batch_run_name, run_batch
from netsift.tasks.retry import io_task_options
from netsift.ingest.sources import SourceObject, Window, list_objects


@task(
    name="list-cloudfront-objects",
    **io_task_options(),
)
def list_cloudfront_objects(
    source: str, distribution: str | None, since, until
) -> list[SourceObject]:
    window = Window.of(distribution, since, until)
    objects = list_objects(source, window)
    get_run_logger().info("%d object%s under %s", len(objects), "" if len(objects) == 1 else "s", source)
    return objects


@task(name="load-cloudfront-objects", task_run_name=batch_run_name, cache_policy=NO_CACHE)
def load_cloudfront_batch(
    objects: list[SourceObject], write_limit: str | None, run_key: str
) -> list[ObjectResult]:
    """A batch of objects, each loaded exactly once in its own transaction;
    retries are per object (tasks/retry.py), not of the whole batch."""
    return run_batch(load_object, KIND, PARSER_VERSION, objects, write_limit, run_key)
