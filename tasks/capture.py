"""Prefect tasks for capture ingestion: retries, names and logging around
sources.py and capture_load.py."""

from __future__ import annotations

from prefect import get_run_logger, task

from netsift.capture.load import is_documentation, load_capture
from netsift.tasks.fanout import run_load
from netsift.ingest.ledger import ObjectResult
from netsift.tasks.retry import io_task_options
from netsift.ingest.sources import SourceObject, Window, list_objects


@task(
    name="list-captures",
    **io_task_options(),
)
def list_captures(source: str) -> list[SourceObject]:
    listed = list_objects(source, Window.of())
    objects = [obj for obj in listed if not is_documentation(obj.name)]
    logger = get_run_logger()
    logger.info("%d object%s under %s", len(objects), "" if len(objects) == 1 else "s", source)
    if len(objects) < len(listed):
        logger.info("%d notes and logs beside them skipped by name", len(listed) - len(objects))
    return objects


@task(
    name="load-capture",
    task_run_name="dissect {obj.name}",
    **io_task_options(),
)
def load_capture_task(obj: SourceObject) -> ObjectResult:
    return run_load(load_capture, obj)
