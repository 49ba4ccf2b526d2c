"""Prefect tasks for detection: the SQL runs in netsift/detection/; here,
retries, one Prefect event per new alert (route them with an automation),
sent through the alerts table's outbox, and the run's table of new and
updated alerts, every attacker string escaped."""

from __future__ import annotations

import json

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.events.worker import EventsWorker

from netsift.db import engine_for
from netsift.detection import outbox
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.escape import markdown_text
from netsift.settings import Settings
from netsift.tasks.retry import retry_if_transient



@task(name="detect-alerts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_if_transient)  # fmt: skip
def detect_alerts(since=None, rules_files: list[str] | None = None) -> dict:
    rules = load_rules(rules_files or ())
    engine = engine_for(Settings().database_url)
    result = detect(engine, rules, since)
    sent = send_alert_events(engine)
    rows = alert_table(result.new, "new") + alert_table(result.updated, "updated")
    create_table_artifact(table=rows or [{"alert": "none new or updated"}], key="detect-alerts",
                          description=f"Rules version {markdown_text(rules.version)}")  # fmt: skip
    get_run_logger().info(
        "%d new and %d updated alerts, %d unchanged, %d removed; %d events sent; %d objects, "
        "%d new user agents and %d new paths classified, %d new client addresses placed",
        len(result.new), len(result.updated), result.unchanged, result.removed, sent, result.objects,
        result.new_agents, result.new_paths, result.new_clients,
    )  # fmt: skip
    return {"new": len(result.new), "updated": len(result.updated), "unchanged": result.unchanged,
            "removed": result.removed, "events_sent": sent,
            "alerts": [_plain(a) | {"state": "new"} for a in result.new]
                      + [_plain(a) | {"state": "updated"} for a in result.updated]}  # fmt: skip


def send_alert_events(engine) -> int:
    """Emit the events of every alert not yet notified (this run's, and any a
    failed run left), wait until they have left, then mark them sent."""
    pending = outbox.unsent(engine)
    for alert in pending:
        emit_event(**outbox.event_of(alert))
    if pending:
        EventsWorker.instance().wait_until_empty()
        outbox.mark_sent(engine, [a["id"] for a in pending])
    return len(pending)


def alert_table(found: list[dict], state: str) -> list[dict]:
    """Escaped rows: user agents and paths are the attacker's own words."""
    return [
        {
            "state": state,
            "rule": markdown_text(a["rule"]),
            "severity": markdown_text(a["severity"]),
            "source": markdown_text(a["source"]),
            "client_ip": markdown_text(a["client_ip"]),
            "window_start": a["window_start"].isoformat(),
            "hits": a["hits"],
            "distinct_paths": a["distinct_paths"],
            "status_codes": markdown_text(a["status_codes"]),
            "sample_paths": markdown_text(" · ".join(a["evidence"]["paths"])),
            "sample_user_agents": markdown_text(" · ".join(a["evidence"]["user_agents"])),
        }
        for a in found
    ]


def _plain(alert: dict) -> dict:
    return json.loads(json.dumps(alert, default=str))
