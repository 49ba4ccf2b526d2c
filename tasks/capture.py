"""Prefect tasks for capture ingestion: retries, names and logging around
sources.py and capture_load.py."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from netsift.capture.load import KIND, PARSER_VERSION, is_documentation, load_capture
from netsift.tasks.fanout import batch_run_name, run_batch
from netsift.ingest.ledger import ObjectResult
from netsift.tasks.retry import io_task_options
from netsift.ingest.sources import SourceObject, Window, list_objects
from netsift.wording import plural


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
        logger.info("%s beside them skipped by name", plural(len(listed) - len(objects), "note or log", "notes and logs"))
    return objects


@task(name="load-captures", task_run_name=batch_run_name, cache_policy=NO_CACHE)
def load_capture_batch(
    objects: list[SourceObject], write_limit: str | None, run_key: str
) -> list[ObjectResult]:
    """Captures in turn (large ones alone: batches are capped in bytes),
    each loaded exactly once in its own transaction."""
    return run_batch(load_capture, KIND, PARSER_VERSION, objects, write_limit, run_key)
