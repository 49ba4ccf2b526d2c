"""Flow `prune`: remove rows older than the retention age; the ledger stays."""

from __future__ import annotations

from prefect import flow

from netsift.retention import cutoff_of
from netsift.tasks.retention import prune_old_rows
from netsift.tasks.schema import upgrade_schema


@flow(name="prune", flow_run_name="prune older than {older_than}")
def prune_flow(older_than: str = "90d") -> dict:
    """older_than: an age in days or hours (90d, 36h); requests, capture rows,
    rejected lines and alerts older than that are removed."""
    cutoff = cutoff_of(older_than)
    upgrade_schema()
    return prune_old_rows(cutoff)
