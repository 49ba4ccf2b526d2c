"""Fanning a load task out over objects, and the run's report in the Prefect UI.

Shared by the ingest flows: each object is one task run; the progress
artifact moves as they finish; failures become the run's Failed state.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Callable

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import as_completed
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.analyst.run_summary import ingest_summary, ingest_table, summary_markdown


# Set by a caller that shows progress (the CLI's progress bar): (done, total).
progress_listener: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "progress_listener", default=None
)


def task_runner_for(settings: Settings):
    """The thread pool by default; Dask (a given scheduler, or a local
    cluster) when NETSIFT_TASK_RUNNER=dask."""
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})  # fmt: skip
    return ThreadPoolTaskRunner(max_workers=settings.workers)


def run_load(loader, obj):
    """What a load task does with its loader: the database from the
    environment (S3 clients are made where objects are opened), a slot of the global write limit while it writes (so
    many workers cannot overwhelm PostgreSQL; create the limit with
    `prefect gcl create netsift-database-writes --limit N`; without it, loads
    are not limited), the outcome logged where the run shows it."""
    from prefect import get_run_logger
    from prefect.concurrency.sync import concurrency

    settings = Settings()
    with concurrency(settings.write_limit, occupy=1):
        result = loader(engine_for(settings.database_url), obj, settings)
    logger = get_run_logger()
    if result.status == "failed":
        logger.error("%s failed: %s", obj.uri, result.error)
    else:
        details = result.rows_by_table or (
            f"{result.rows_loaded} row{'' if result.rows_loaded == 1 else 's'}, {result.rows_rejected} rejected")
        logger.info("%s %s: %s", obj.uri, result.status, details)
    return result


def load_each(load_task, objects: list) -> list[dict]:
    """Every object's outcome as a dict, in completion order; progress (the
    run's artifact, the CLI's bar) moves as each object finishes."""
    progress = create_progress_artifact(
        progress=0.0, description=f"Objects done out of {len(objects)}"
    )
    listener = progress_listener.get()
    results: list[dict] = []

    def finished(future, uri: str) -> None:
        results.append(outcome_of(future, uri))
        update_progress_artifact(progress, progress=100.0 * len(results) / len(objects))
        if listener:
            listener(len(results), len(objects))

    if listener:
        listener(0, len(objects))
    # SQLite takes one writer at a time: load in turn there, in parallel on PostgreSQL.
    if Settings().database_url.startswith("sqlite"):
        for obj in objects:
            future = load_task.submit(obj)
            future.wait()
            finished(future, obj.uri)
    else:
        futures = {load_task.submit(obj): obj for obj in objects}
        for future in as_completed(list(futures)):
            finished(future, futures[future].uri)
    if not objects:
        update_progress_artifact(progress, progress=100.0)
    return results


def outcome_of(future, uri: str) -> dict:
    """A task's result, or a failed outcome when its retries ran out."""
    outcome = future.result(raise_on_failure=False)
    if hasattr(outcome, "as_dict"):
        return outcome.as_dict()
    return {
        "uri": uri,
        "status": "failed",
        "rows_loaded": 0,
        "rows_rejected": 0,
        "error": f"{type(outcome).__name__}: {outcome}",
    }


def report(flow_name: str, source: str, results: list[dict], extra: dict | None = None):
    """The run's artifacts and final state: Failed when any object failed."""
    summary = {**ingest_summary(results), **(extra or {})}
    create_table_artifact(
        table=ingest_table(results),
        key=f"{flow_name}-objects",
        description="Objects of this run: failures first",
    )
    create_markdown_artifact(
        markdown=summary_markdown(f"{flow_name} of {source}", summary),
        key=f"{flow_name}-summary",
    )
    summary["results"] = results
    if summary["failed"]:
        return Failed(
            message=f"{summary['failed']} of {summary['objects']} objects failed; "
            f"see the {flow_name}-objects artifact and source_objects.error",
            data=summary,
        )
    rows = summary["rows_loaded"]
    return Completed(message=f"{rows} row{'' if rows == 1 else 's'} loaded", data=summary)
