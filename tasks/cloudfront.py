"""Prefect tasks for CloudFront ingestion: thin wrappers adding retries,
names and logging to the pure functions in sources.py and cloudfront_load.py.
"""

from __future__ import annotations

from prefect import get_run_logger, task

from netsift.cloudfront.load import ObjectResult, load_object
from netsift.tasks.fanout import run_load
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


@task(
    name="load-cloudfront-object",
    task_run_name="load {obj.name}",
    **io_task_options(),
)
def load_cloudfront_object(obj: SourceObject) -> ObjectResult:
    return run_load(load_object, obj)
