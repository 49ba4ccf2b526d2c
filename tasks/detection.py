"""Prefect tasks for detection: the SQL runs in detect.py; here, retries,
one Prefect event per new alert (route them with an automation), and the
run's table of new and updated alerts, every attacker string escaped."""

from __future__ import annotations

import json

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from netsift.db import engine_for
from netsift.escape import markdown_text
from netsift.settings import Settings
from netsift.detection.alerts import detect
from netsift.tasks.retry import retry_if_transient
from netsift.detection.ruleset import load_rules

EVENT = "netsift.alert.created"


@task(name="detect-alerts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_if_transient)  # fmt: skip
def detect_alerts(since=None, rules_files: list[str] | None = None) -> dict:
    rules = load_rules(rules_files or ())
    result = detect(engine_for(Settings().database_url), rules, since)
    for alert in result.new:
        emit_event(
            event=EVENT,
            resource={
                "prefect.resource.id": f"netsift.alert.{alert['rule']}.{alert['source']}.{alert['client_ip']}",
                "prefect.resource.name": f"{alert['rule']} from {alert['client_ip']}",
                "netsift.rule": alert["rule"],
                "netsift.client-ip": alert["client_ip"],
                "netsift.severity": alert["severity"],
                "netsift.source": alert["source"],
            },
            payload={key: str(value) if key != "evidence" else value for key, value in alert.items()},
        )
    rows = alert_table(result.new, "new") + alert_table(result.updated, "updated")
    create_table_artifact(table=rows or [{"alert": "none new or updated"}], key="detect-alerts",
                          description=f"Rules version {markdown_text(rules.version)}")  # fmt: skip
    get_run_logger().info(
        "%d new and %d updated alerts, %d unchanged; %d new user agents and %d new paths classified",
        len(result.new), len(result.updated), result.unchanged, result.new_agents, result.new_paths,
    )
    return {"new": len(result.new), "updated": len(result.updated), "unchanged": result.unchanged,
            "alerts": [_plain(a) | {"state": "new"} for a in result.new]
                      + [_plain(a) | {"state": "updated"} for a in result.updated]}  # fmt: skip


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
