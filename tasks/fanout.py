"""Fanning loads out over objects, and the run's report in the Prefect UI.

Shared by the ingest flows. Objects already loaded are set aside by one
ledger query before any task exists; the rest go in batches, a task run per
batch (a task run and a progress update cost more than loading a small
object), while each object stays its own transaction and ledger row. Progress
moves at most about once a second; failures become the run's Failed state.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Callable

from prefect import get_run_logger, task
from prefect.context import TagsContext
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
from netsift.wording import plural
from netsift.ingest import ledger
from netsift.ingest.ledger import ObjectResult
from netsift.ingest.sources import SourceObject, s3_client
from netsift.settings import Settings
from netsift.analyst.run_summary import ingest_summary, ingest_table, summary_markdown
from netsift.tasks.retry import (
    DATABASE,
    breaker_for,
    endpoint_of,
    forget_breaker,
    io_task_options,
    is_connection_failure,
    is_transient,
)

# Set by a caller that shows progress (the CLI's progress bar): (done, total).
progress_listener: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "progress_listener", default=None
)
NOT_TRIED = "not tried: "  # the error of objects left when the run stopped on an outage


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


def batches(objects: list, max_objects: int, max_bytes: int, min_batches: int) -> list[list]:
    """Objects in listing order, cut into batches of at most `max_objects`
    and `max_bytes` (an object larger than that goes alone), and small
    enough that there are at least `min_batches` while objects last, so
    every worker has work and progress still moves in a small run."""
    size = max(1, min(max_objects, math.ceil(len(objects) / max(1, min_batches))))
    result: list[list] = []
    current: list = []
    held = 0
    for obj in objects:
        if current and (len(current) >= size or held + obj.size > max_bytes):
            result.append(current)
            current, held = [], 0
        current.append(obj)
        held += obj.size
    if current:
        result.append(current)
    return result


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def write_slot(slots: int) -> threading.BoundedSemaphore:
    """The process's semaphore of `slots` writers: holding it costs
    microseconds per object, where a Prefect global concurrency slot costs
    over a second per acquisition (bench/objects.py measures both)."""
    with _slots_lock:
        return _slots.setdefault(slots, threading.BoundedSemaphore(slots))


def existing_write_limit(name: str) -> str | None:
    """`name` if that Prefect global concurrency limit exists, else None:
    asked once per run, so a run without the limit never pays for it."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    if not name:
        return None
    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        return None
    return name


@task(name="skip-loaded-objects", **io_task_options())
def skip_loaded(objects: list[SourceObject]) -> tuple[list[SourceObject], list[ObjectResult]]:
    """The objects still to load, and those whose exact version is loaded
    already (one ledger query; they count as skipped and get no task)."""
    pending, skipped = ledger.split_loaded(engine_for(Settings().database_url), objects)
    get_run_logger().info("%s to load, %d loaded already", plural(len(pending), "object"), len(skipped))
    return pending, skipped


def batch_run_name() -> str:
    from prefect.runtime import task_run

    objects = task_run.parameters["objects"]
    more = f" and {len(objects) - 1} more" if len(objects) > 1 else ""
    return f"load {objects[0].name}{more}"


def run_batch(loader, kind: str, parser_version: str, objects: list[SourceObject],
              write_limit: str | None, run_key: str) -> list[ObjectResult]:  # fmt: skip
    """What a load task does: each object in turn, in its own transaction,
    with one S3 client and engine for them all. The batch holds a slot of the
    Prefect global concurrency limit `write_limit` when that exists (many
    machines, one database); each object holds a slot of the process's
    semaphore while it writes. The outcome of each object is logged where the
    run shows it."""
    from prefect.concurrency.sync import concurrency

    settings = Settings()
    engine = engine_for(settings.database_url)
    client = s3_client() if any(obj.uri.startswith("s3://") for obj in objects) else None
    logger = get_run_logger()
    results = []
    with concurrency(write_limit, occupy=1) if write_limit else nullcontext():
        for obj in objects:
            result = load_one(loader, kind, parser_version, engine, obj, settings, client, run_key)
            if result.status == ledger.FAILED:
                logger.error("%s failed: %s", obj.uri, result.error)
            else:
                details = result.rows_by_table or f"{result.rows_loaded} rows, {result.rows_rejected} rejected"
                logger.info("%s %s: %s", obj.uri, result.status, details)
            results.append(result)
    return results


def load_one(loader, kind: str, parser_version: str, engine, obj: SourceObject, settings: Settings,
             client, run_key: str) -> ObjectResult:  # fmt: skip
    """One object's outcome. Transient errors are retried with backoff;
    connection failures count toward the run's breaker, which, once
    tripped, fails every object left without trying it. A failure for a
    reason outside the object's content is recorded in `source_objects` too,
    when the database can take it."""
    breaker = breaker_for(run_key, settings.outage_after_failures)
    delay, endpoint = settings.retry_delay_seconds, ""
    for attempt in range(settings.object_retries + 1):
        if breaker.tripped:
            reason, endpoint = NOT_TRIED + breaker.reason, breaker.endpoint
            break
        try:
            with write_slot(settings.write_slots):
                result = loader(engine, obj, settings, client)
            breaker.succeeded()
            return result
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if is_connection_failure(error):
                endpoint = endpoint_of(error, settings.database_url, client)
                reason = f"{endpoint} unreachable: {reason}"
                if breaker.failed(endpoint, error):
                    break
            elif not is_transient(error):
                break
            if attempt < settings.object_retries:
                time.sleep(delay)
                delay *= 2
    if not endpoint.startswith(DATABASE):  # else the database is the outage: the artifact and state say it
        try:
            ledger.record_failure(engine, obj, kind=kind, parser_version=parser_version, reason=reason)
        except Exception as error:
            get_run_logger().warning("%s: could not record its failure: %s", obj.uri, error)
    return ObjectResult(obj.uri, ledger.FAILED, error=reason)


class Progress:
    """The run's progress artifact and the CLI's bar, moved at most once per
    `interval` seconds (and always at the start and the end)."""

    def __init__(self, total: int, done: int, interval: float) -> None:
        self.total, self.done, self.interval = total, done, interval
        self.listener = progress_listener.get()
        self.artifact = create_progress_artifact(
            progress=self.percent(), description=f"Objects done out of {total}"
        )
        self.shown = time.monotonic()
        if self.listener:
            self.listener(done, total)

    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.done < self.total and now - self.shown < self.interval:
            return
        self.shown = now
        update_progress_artifact(self.artifact, progress=self.percent())
        if self.listener:
            self.listener(self.done, self.total)


def load_each(load_task, objects: list[SourceObject]) -> list[dict]:
    """Every object's outcome as a dict: those loaded already first, then
    the others in completion order."""
    from prefect.runtime import flow_run

    settings = Settings()
    pending, skipped = skip_loaded(objects)
    results = [result.as_dict() for result in skipped]
    progress = Progress(len(objects), len(skipped), settings.progress_interval_seconds)
    groups = batches(pending, settings.batch_objects, settings.batch_bytes, min_batches=4 * settings.workers)
    limit = existing_write_limit(settings.write_limit) if groups else None
    run_key = str(flow_run.id or id(objects))

    def finished(future, group: list[SourceObject]) -> None:
        outcomes = outcomes_of(future, group)
        results.extend(outcomes)
        progress.advance(len(outcomes))

    # The load tasks run untagged: Prefect asks its API for tag concurrency
    # slots on every tagged task run (about 0.2 s each here), and the run's
    # own tags (the database tag) belong to the flow run, where `netsift
    # status` looks for them.
    with TagsContext(current_tags=set()):
        try:
            # SQLite takes one writer at a time: load in turn there, in parallel on PostgreSQL.
            if settings.database_url.startswith("sqlite"):
                for group in groups:
                    future = load_task.submit(group, limit, run_key)
                    future.wait()
                    finished(future, group)
            else:
                futures = {load_task.submit(group, limit, run_key): group for group in groups}
                for future in as_completed(list(futures)):
                    finished(future, futures[future])
        finally:
            forget_breaker(run_key)
    if progress.done < progress.total or not objects:
        progress.advance(0)
    return results


def outcomes_of(future, group: list[SourceObject]) -> list[dict]:
    """A batch's results, or a failed outcome for each of its objects when
    the task itself failed."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, list):
        return [result.as_dict() for result in outcome]
    return [
        {"uri": obj.uri, "status": "failed", "rows_loaded": 0, "rows_rejected": 0,
         "error": f"{type(outcome).__name__}: {outcome}"}
        for obj in group
    ]  # fmt: skip


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
        outage = next((r["error"] for r in results if (r.get("error") or "").startswith(NOT_TRIED)), None)
        cause = f"stopped, {outage[len(NOT_TRIED):]}; " if outage else ""
        return Failed(
            message=f"{cause}{summary['failed']} of {summary['objects']} objects failed; "
            f"see the {flow_name}-objects artifact and source_objects.error",
            data=summary,
        )
    rows = summary["rows_loaded"]
    return Completed(message=f"{rows} row{'' if rows == 1 else 's'} loaded", data=summary)
