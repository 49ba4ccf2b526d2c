"""What a run shows in the Prefect UI: its progress and its outcome per object.

Every cell passes through `markdown_text`: object names and error messages
can carry attacker-chosen text.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from netsift.escape import markdown_text


def ingest_summary(results: Iterable[dict]) -> dict:
    """Counts of objects by status and rows loaded and rejected."""
    results = list(results)
    statuses = Counter(r["status"] for r in results)
    return {
        "objects": len(results),
        "loaded": statuses.get("loaded", 0),
        "skipped": statuses.get("skipped", 0),
        "partial": statuses.get("partial", 0),
        "failed": statuses.get("failed", 0),
        "rows_loaded": sum(r["rows_loaded"] for r in results if r["status"] != "skipped"),
        "rows_rejected": sum(r["rows_rejected"] for r in results if r["status"] != "skipped"),
    }


def ingest_table(results: Iterable[dict]) -> list[dict]:
    """One escaped row per object this run acted on, failures first, for a table artifact.

    Objects an earlier run loaded are left to the summary's `skipped` count: a
    scheduled run's look-back re-checks a day of them every hour, and a line
    each would grow the artifact with the bucket, not with the run's work.
    Skips with a reason (the same content as another object) keep their line.
    """
    order = {"failed": 0, "partial": 1, "loaded": 2, "skipped": 3}
    acted_on = (r for r in results if r["status"] != "skipped" or r.get("error"))
    rows = sorted(acted_on, key=lambda r: (order.get(r["status"], 9), r["uri"]))
    return [
        {
            "object": markdown_text(r["uri"], 300),
            "status": markdown_text(r["status"]),
            "rows_loaded": r["rows_loaded"],
            "rows_rejected": r["rows_rejected"],
            "error": markdown_text(r.get("error") or ""),
        }
        for r in rows
    ]


def summary_markdown(title: str, summary: dict) -> str:
    lines = [f"### {markdown_text(title, 300)}", "", "| | |", "|---|---|"]
    lines += [f"| {key.replace('_', ' ')} | {value} |" for key, value in summary.items()]
    return "\n".join(lines)
