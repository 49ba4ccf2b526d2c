"""Alert events exactly once: the alert row is the outbox.

Alerts are committed with `notified_at` NULL. Their events are emitted
afterwards, and `notified_at` is set only once the events have left; a run
that dies in between leaves them NULL, and the next run sends them. Each
event's id is derived from the alert's identity, so a resent event is the
same event, which Prefect's server stores once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import Engine, select, update

from netsift.db import utc_datetime
from netsift.schema import alerts

EVENT = "netsift.alert.created"
_NAMESPACE = uuid.UUID("5b0c7d3e-8f3a-4b8e-9a51-6e1f2d0c9a47")
_FIELDS = ("id", "rule", "severity", "source", "client_ip", "window_start", "first_seen", "last_seen", "hits",
           "distinct_paths", "status_codes", "evidence")  # fmt: skip


def unsent(engine: Engine, limit: int = 10_000) -> list[dict]:
    """Alerts whose event has not left yet, oldest first."""
    columns = [alerts.c[name] for name in _FIELDS]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(alerts.c.notified_at.is_(None)).order_by(alerts.c.id).limit(limit))
        return [
            {k: utc_datetime(v) if k in ("window_start", "first_seen", "last_seen") else v for k, v in r._mapping.items()}
            for r in rows
        ]  # fmt: skip


def event_id(alert: dict) -> uuid.UUID:
    """The same alert always gives the same event id."""
    key = "|".join(str(alert[k]) for k in ("rule", "source", "client_ip")) + "|" + alert["window_start"].isoformat()
    return uuid.uuid5(_NAMESPACE, key)


def event_of(alert: dict) -> dict:
    """`emit_event`'s arguments for one alert."""
    return {
        "event": EVENT,
        "id": event_id(alert),
        "resource": {
            "prefect.resource.id": f"netsift.alert.{alert['rule']}.{alert['source']}.{alert['client_ip']}",
            "prefect.resource.name": f"{alert['rule']} from {alert['client_ip']}",
            "netsift.rule": alert["rule"],
            "netsift.client-ip": alert["client_ip"],
            "netsift.severity": alert["severity"],
            "netsift.source": alert["source"],
        },
        "payload": {k: v if k == "evidence" else str(v) for k, v in alert.items() if k != "id"},
    }


def mark_sent(engine: Engine, ids: list[int]) -> None:
    stamp = datetime.now(timezone.utc)
    with engine.begin() as conn:
        for start in range(0, len(ids), 1000):
            conn.execute(update(alerts).where(alerts.c.id.in_(ids[start : start + 1000])).values(notified_at=stamp))
