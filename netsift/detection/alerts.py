"""Detection in SQL: verdicts for new distinct values, then alerts per client
and window. No Python loop over requests: Python sees each distinct user
agent and path once, and each alert group once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, bindparam, insert, select, text, update

from netsift.db import utc_datetime
from netsift.schema import alerts, path_verdicts, user_agent_verdicts
from netsift.detection.bots import classify_user_agent
from netsift.detection.probes import classify_path
from netsift.detection.ruleset import RuleSet

SEVERITIES = ("low", "medium", "high", "critical")
CHUNK = 5000


@dataclass(frozen=True)
class Source:
    """Where one kind of traffic lives, by column role. Names are ours, never data."""

    name: str
    table: str
    view: str
    client: str
    path: str
    agent: str
    status: str


SOURCES = (
    Source("cloudfront", "cloudfront_requests", "cloudfront_requests_classified",
           "c_ip", "cs_uri_stem", "cs_user_agent", "sc_status"),
    Source("pcap", "http_requests", "http_requests_classified",
           "orig_h", "uri", "user_agent", "status_code"),
)  # fmt: skip


@dataclass
class DetectResult:
    new_agents: int = 0
    new_paths: int = 0
    new: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    unchanged: int = 0


def classify_new_values(conn: Connection, rules: RuleSet) -> tuple[int, int]:
    """Verdicts for every distinct user agent and path without one (or with
    one from other rules), classified once each."""
    for table in (user_agent_verdicts, path_verdicts):
        conn.execute(table.delete().where(table.c.rules_version != rules.version))
    agents = set()
    paths = set()
    for source in SOURCES:
        agents |= set(conn.execute(text(
            f"SELECT DISTINCT COALESCE(r.{source.agent}, '') FROM {source.table} r "
            f"WHERE NOT EXISTS (SELECT 1 FROM user_agent_verdicts v "
            f"WHERE v.user_agent = COALESCE(r.{source.agent}, ''))"
        )).scalars())  # fmt: skip
        paths |= set(conn.execute(text(
            f"SELECT DISTINCT r.{source.path} FROM {source.table} r WHERE r.{source.path} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM path_verdicts v WHERE v.path = r.{source.path})"
        )).scalars())  # fmt: skip
    agent_rows = []
    for agent in agents:
        verdict = classify_user_agent(agent, rules)
        agent_rows.append({"user_agent": agent, "is_bot": verdict.is_bot, "bot_category": verdict.bot_category,
                           "rule_id": verdict.rule_id, "rules_version": rules.version})  # fmt: skip
    path_rows = []
    for path in paths:
        verdict = classify_path(path, rules)
        path_rows.append({"path": path, "is_probe": verdict.is_probe, "probe_category": verdict.probe_category,
                          "strength": verdict.strength, "rule_id": verdict.rule_id,
                          "human_2xx": False, "rules_version": rules.version})  # fmt: skip
    for table, rows in ((user_agent_verdicts, agent_rows), (path_verdicts, path_rows)):
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start : start + CHUNK])
    return len(agent_rows), len(path_rows)


def refresh_served_paths(conn: Connection) -> None:
    """Which weak probe paths the site really serves: ordinary visitors got a 2xx."""
    served = " OR ".join(
        f"EXISTS (SELECT 1 FROM {s.table} r JOIN user_agent_verdicts u "
        f"ON u.user_agent = COALESCE(r.{s.agent}, '') "
        f"WHERE r.{s.path} = path_verdicts.path AND NOT u.is_bot "
        f"AND r.{s.status} BETWEEN 200 AND 299)"
        for s in SOURCES
    )
    conn.execute(text(f"UPDATE path_verdicts SET human_2xx = ({served}) WHERE strength = 'weak'"))


def _bucket(conn: Connection, column: str, seconds: int) -> str:
    if conn.dialect.name == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {seconds}) AS BIGINT)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / {seconds})"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _selection(rule: dict, since: datetime | None) -> tuple[str, dict, int]:
    """The WHERE clause, its parameters and the window length of an alert rule."""
    when = rule["when"]
    conditions, params = [], {}
    if "probe_category" in when:
        conditions.append("is_probe AND probe_category IN :categories")
        params["categories"] = _as_list(when["probe_category"])
    if "bot_category" in when:
        conditions.append("is_bot AND bot_category IN :bot_categories")
        params["bot_categories"] = _as_list(when["bot_category"])
    if when.get("is_bot"):
        conditions.append("is_bot")
    if since is not None:
        conditions.append("ts >= :since")
        params["since"] = since
    return " AND ".join(conditions), params, int(when.get("window_minutes", 10)) * 60


def _run(conn: Connection, sql: str, params: dict):
    statement = text(sql)
    for name in ("categories", "bot_categories"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    return conn.execute(statement, params)


def candidate_groups(conn: Connection, rule: dict, source: Source, since: datetime | None) -> list[dict]:
    """Clients over the rule's threshold, one group per client and window,
    with their status codes and samples of paths and user agents."""
    where, params, seconds = _selection(rule, since)
    when = rule["when"]
    having = (f"COUNT(DISTINCT {source.path}) >= :threshold" if "min_distinct_paths" in when
              else "COUNT(*) >= :threshold")  # fmt: skip
    params = {**params, "threshold": int(when.get("min_distinct_paths", when.get("min_requests", 1)))}
    bucket = _bucket(conn, "ts", seconds)
    selected = f"FROM {source.view} WHERE {source.client} IS NOT NULL AND {where}"
    groups = {
        (row.client, row.bucket): dict(row._mapping) | {"seconds": seconds, "statuses": set(),
                                                         "paths": set(), "agents": set()}
        for row in _run(conn, (
            f"SELECT {source.client} AS client, {bucket} AS bucket, MIN(ts) AS first_seen, "
            f"MAX(ts) AS last_seen, COUNT(*) AS hits, COUNT(DISTINCT {source.path}) AS distinct_paths, "
            f"MAX(CASE WHEN {source.status} BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS got_2xx "
            f"{selected} GROUP BY {source.client}, {bucket} HAVING {having}"), params)
    }  # fmt: skip
    if groups:  # evidence for every group in one pass over the distinct values
        for row in _run(conn, (
            f"SELECT DISTINCT {source.client}, {bucket}, {source.status}, {source.path}, "
            f"{source.agent} {selected}"), params):  # fmt: skip
            group = groups.get((row[0], row[1]))
            if group is not None:
                if row[2] is not None:
                    group["statuses"].add(row[2])
                if row[3] is not None:
                    group["paths"].add(row[3])
                if row[4] is not None:
                    group["agents"].add(row[4])
    return list(groups.values())


def evidence_of(group: dict) -> dict:
    return {"paths": sorted(group["paths"])[:5], "user_agents": sorted(group["agents"])[:3]}


def severity_of(rule: dict, got_2xx: bool, escalate: bool) -> str:
    """The rule's severity, one step up when a probe was answered with a 2xx
    (the thing looked for may be there); a bot's 2xx on a page is no news."""
    base = SEVERITIES.index(rule.get("severity", "medium"))
    step = 1 if got_2xx and escalate and "probe_category" in rule["when"] else 0
    return SEVERITIES[min(base + step, len(SEVERITIES) - 1)]


def upsert_alerts(conn: Connection, rule: str, source: str, found: list[dict]) -> tuple[list, list, int]:
    """(new, updated, unchanged count): one alert per rule, source, client and
    window, written in bulk."""
    existing = {
        (row.client_ip, utc_datetime(row.window_start)): row
        for row in conn.execute(select(alerts.c.id, alerts.c.client_ip, alerts.c.window_start,
                                       alerts.c.hits, alerts.c.severity, alerts.c.distinct_paths)
                                .where(alerts.c.rule == rule, alerts.c.source == source))
    }  # fmt: skip
    stamp = datetime.now(timezone.utc)
    new, updated, unchanged = [], [], 0
    for values in found:
        before = existing.get((values["client_ip"], values["window_start"]))
        if before is None:
            new.append(values)
        elif (before.hits, before.severity, before.distinct_paths) == (
            values["hits"], values["severity"], values["distinct_paths"]):  # fmt: skip
            unchanged += 1
        else:
            updated.append(values | {"_id": before.id})
    if new:
        conn.execute(insert(alerts), [v | {"created_at": stamp, "updated_at": stamp} for v in new])
    if updated:
        columns = ("severity", "first_seen", "last_seen", "hits", "distinct_paths", "status_codes", "evidence")
        conn.execute(
            update(alerts).where(alerts.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in columns} | {"updated_at": stamp}),
            [{c: v[c] for c in (*columns, "_id")} for v in updated],
        )  # fmt: skip
        for values in updated:
            values.pop("_id")
    return new, updated, unchanged


def detect(engine: Engine, rules: RuleSet, since: datetime | None = None) -> DetectResult:
    result = DetectResult()
    with engine.begin() as conn:
        result.new_agents, result.new_paths = classify_new_values(conn, rules)
        refresh_served_paths(conn)
    with engine.begin() as conn:
        for rule in rules.alert_rules:
            for source in SOURCES:
                found = [
                    {
                        "rule": rule["rule"], "source": source.name, "client_ip": group["client"],
                        "window_start": datetime.fromtimestamp(group["bucket"] * group["seconds"], timezone.utc),
                        "first_seen": utc_datetime(group["first_seen"]), "last_seen": utc_datetime(group["last_seen"]),
                        "hits": group["hits"], "distinct_paths": group["distinct_paths"],
                        "status_codes": ",".join(str(s) for s in sorted(group["statuses"])),
                        "severity": severity_of(rule, bool(group["got_2xx"]), rules.escalate_on_2xx),
                        "evidence": evidence_of(group),
                    }
                    for group in candidate_groups(conn, rule, source, since)
                ]  # fmt: skip
                new, updated, unchanged = upsert_alerts(conn, rule["rule"], source.name, found)
                result.new += new
                result.updated += updated
                result.unchanged += unchanged
    return result
