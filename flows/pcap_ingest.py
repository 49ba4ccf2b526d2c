"""Flow `pcap-ingest`: packet captures into Zeek-style tables.

Only orchestration: list the captures, dissect and load each (fanned out),
report captures and rows per table.
"""

from __future__ import annotations

from prefect import flow

from netsift.tasks.schema import upgrade_schema
from netsift.settings import Settings
from netsift.tasks.fanout import load_each, report, task_runner_for
from netsift.tasks.capture import list_captures, load_capture_batch


@flow(
    name="pcap-ingest",
    flow_run_name="pcap {source}",
    task_runner=task_runner_for(Settings()),
)
def pcap_ingest(source: str):
    """Dissect every capture under `source` not loaded yet.

    source: s3://bucket/prefix, or a local capture file or folder (pcap,
    pcapng, or either gzip-compressed).
    """
    upgrade_schema()
    captures = list_captures(source)
    results = load_each(load_capture_batch, captures)
    per_table: dict[str, int] = {}
    for result in results:
        for table, count in (result.get("rows_by_table") or {}).items():
            per_table[f"rows_{table}"] = per_table.get(f"rows_{table}", 0) + count
    return report("pcap-ingest", source, results, per_table)
