"""Alerts per client and window, for what is new.

Each run reads only the rows of objects detection has not seen
(increments.py), plus the windows those rows touch, so late rows landing in
old windows still count and a run costs what is new, not all history. The
windows slide (windows.py): a scan is caught wherever it starts. Alerts,
verdicts and the cursor commit in one transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, DateTime, Engine, bindparam, delete, insert, select, text, update

from netsift.db import utc_datetime
from netsift.detection.clients import locate_new_clients, lookup_version, networks_of
from netsift.detection.crawlers import bundled_crawler_networks
from netsift.detection.geoip import GeoLookup, geo_lookup
from netsift.detection.increments import Unseen, id_chunks, mark_seen, unseen_objects
from netsift.detection.ruleset import SEVERITIES, AlertRule, RuleSet
from netsift.detection.sources import SOURCES, Source
from netsift.detection.verdicts import classify_new_values, mark_served_paths
from netsift.detection.windows import Fired, Hit, buckets_touched, fired_windows
from netsift.schema import alerts

CLIENTS_PER_QUERY = 5000  # bound parameters per query: well under SQLite's 32,766


@dataclass
class DetectResult:
    new_agents: int = 0
    new_paths: int = 0
    new_clients: int = 0
    new: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    unchanged: int = 0
    removed: int = 0
    objects: int = 0


def _bucket(conn: Connection, column: str, seconds: int) -> str:
    if conn.dialect.name == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {seconds}) AS BIGINT)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / {seconds})"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _selection(rule: AlertRule, since: datetime | None, tag: str = "") -> tuple[str, dict, int]:
    """The WHERE clause, its parameters (names ending in `tag`, so several
    rules' clauses can share one statement) and the window length of an alert rule."""
    when = rule.when
    conditions, params = [], {}
    if "probe_category" in when:
        conditions.append(f"is_probe AND probe_category IN :categories{tag}")
        params[f"categories{tag}"] = _as_list(when["probe_category"])
    if "bot_category" in when:
        conditions.append(f"is_bot AND bot_category IN :bot_categories{tag}")
        params[f"bot_categories{tag}"] = _as_list(when["bot_category"])
    if when.get("is_bot"):
        conditions.append("is_bot")
    if when.get("impersonated_crawler"):  # a fixed column name, never data
        conditions.append("impersonated_crawler")
    if since is not None:
        conditions.append("ts >= :since")
        params["since"] = since
    return " AND ".join(conditions) or "1 = 1", params, rule.window_minutes * 60


def _run(conn: Connection, sql: str, params: dict, stream: bool = False):
    """Lists expand to IN (...); times are bound as timestamps, so SQLite
    compares them in the format it stores them in."""
    statement = text(sql)
    for name, value in params.items():
        if isinstance(value, list):
            statement = statement.bindparams(bindparam(name, expanding=True))
        elif isinstance(value, datetime):
            statement = statement.bindparams(bindparam(name, type_=DateTime(timezone=True)))
    # Streamed: rows arrive in batches (a server-side cursor on PostgreSQL), not all at once.
    return conn.execute(statement.execution_options(stream_results=stream), params)


def touched_buckets(conn: Connection, rules: list[AlertRule], source: Source, unseen: Unseen, served: set[str],
                    since: datetime | None) -> list[set[int]]:  # fmt: skip
    """For each rule, the buckets whose verdicts the unseen rows can change:
    those its matching rows fall in and the next; and those of older
    requests to paths that just stopped being probes (the site serves them).
    One pass over the unseen rows serves every rule. Buckets, not clients: a
    bucket is evaluated for every client, which changes nothing for those
    with no new rows, and keeps a busy hour's client list out of the queries."""
    selections = [_selection(rule, since, tag=f"_{n}") for n, rule in enumerate(rules)]
    grain = math.gcd(*(seconds for _, _, seconds in selections)) if selections else 1
    flags = ", ".join(f"MAX(CASE WHEN {source.client} IS NOT NULL AND {where} THEN 1 ELSE 0 END)"
                      for where, _, _ in selections)  # fmt: skip
    params = {name: value for _, values, _ in selections for name, value in values.items()}
    bucket = _bucket(conn, "ts", grain)
    new_rows = f"SELECT {bucket}, {flags} FROM {source.view} WHERE source_object_id IN :ids GROUP BY {bucket}"
    touched: list[set[int]] = [set() for _ in rules]
    for chunk in id_chunks(unseen.of(source.kind) if rules else []):
        for number, *matched in _run(conn, new_rows, params | {"ids": chunk}):
            for n, (_, _, seconds) in enumerate(selections):
                if matched[n]:
                    touched[n].update(buckets_touched(number * grain, seconds))
    listed = sorted(served)
    for start in range(0, len(listed), CLIENTS_PER_QUERY):
        older = (f"SELECT DISTINCT {bucket} FROM {source.table} WHERE {source.path} IN :paths"
                 + (" AND ts >= :since" if since else ""))  # fmt: skip
        rows = _run(conn, older, {"paths": listed[start : start + CLIENTS_PER_QUERY]} | (
            {"since": since} if since else {}))  # fmt: skip
        for (number,) in rows:
            for n, (_, _, seconds) in enumerate(selections):
                touched[n].update(buckets_touched(number * grain, seconds))
    return touched


def _spans(buckets: set[int]) -> list[tuple[int, int]]:
    """Touched buckets as runs of neighbours: late rows from yesterday and
    today's rows are two short spans to read, not a day of requests."""
    spans: list[list[int]] = []
    for bucket in sorted(buckets):
        if spans and bucket <= spans[-1][1] + 2:
            spans[-1][1] = bucket
        else:
            spans.append([bucket, bucket])
    return [(first, last) for first, last in spans]


def matching_hits(conn: Connection, rule: AlertRule, source: Source, touched: set[int] | None,
                  since: datetime | None):  # fmt: skip
    """(client, its requests matching the rule, the buckets to evaluate).

    Without `touched` (a full recompute), all requests and all buckets, and
    only the clients that could reach the threshold at all are read. With
    `touched` buckets, per span of them, the requests from W before the span
    to its end: one index range on ts, sorted, and the threshold applied
    here (fired_windows). Not a semi-join on the clients that reach it:
    when rows were loaded moments ago (always, for a scheduled run) the
    statistics put far too few in the span, and PostgreSQL then re-reads
    the span once per client, a cost that grew with every hour of history
    (bench/day.py)."""
    where, params, seconds = _selection(rule, since)
    threshold, distinct = rule.threshold, rule.counts_distinct_paths
    measure = f"COUNT(DISTINCT {source.path})" if distinct else "COUNT(*)"
    columns = f"{source.client}, ts, {source.path}, {source.status}, {source.agent}"
    if touched is None:
        sql = (f"SELECT {columns} FROM {source.view} "
               f"WHERE {where} AND {source.client} IN (SELECT {source.client} FROM {source.view} "
               f"WHERE {source.client} IS NOT NULL AND {where} GROUP BY {source.client} "
               f"HAVING {measure} >= :threshold) ORDER BY {source.client}")  # fmt: skip
        params = params | {"threshold": threshold}
    else:
        sql = (f"SELECT {columns} FROM {source.view} WHERE ts >= :lo AND ts < :hi AND {where} "
               f"AND {source.client} IS NOT NULL ORDER BY {source.client}")  # fmt: skip
    if touched is None:
        queries = [(params, None)]
    else:
        queries = []
        for first, last in _spans(touched):
            wanted = {b for b in touched if first <= b <= last}
            queries.append((params | {"lo": datetime.fromtimestamp((first - 1) * seconds, timezone.utc),
                                      "hi": datetime.fromtimestamp((last + 1) * seconds, timezone.utc)}, wanted))  # fmt: skip
    for values, wanted in queries:
        current, hits = None, []
        for client, ts, path, status, agent in _run(conn, sql, values, stream=True):
            if client != current:
                if hits:
                    yield current, hits, wanted
                current, hits = client, []
            hits.append(Hit(utc_datetime(ts).timestamp(), path, status, agent))
        if hits:
            yield current, hits, wanted


def alert_values(rule: AlertRule, source: Source, client: str, fired: Fired, seconds: int, escalate: bool) -> dict:
    hits = fired.hits
    statuses = sorted({h.status for h in hits if h.status is not None})
    return {
        "rule": rule.id, "source": source.name, "client_ip": client,
        "window_start": fired.window_start(seconds),
        "first_seen": datetime.fromtimestamp(hits[0].ts, timezone.utc),
        "last_seen": datetime.fromtimestamp(hits[-1].ts, timezone.utc),
        "hits": len(hits), "distinct_paths": len({h.path for h in hits if h.path is not None}),
        "status_codes": ",".join(str(s) for s in statuses),
        "severity": severity_of(rule, any(200 <= s <= 299 for s in statuses), escalate),
        "evidence": {"paths": sorted({h.path for h in hits if h.path is not None})[:5],
                     "user_agents": sorted({h.agent for h in hits if h.agent is not None})[:3]},
    }  # fmt: skip


def evaluate(conn: Connection, rule: AlertRule, source: Source, touched: set[int] | None,
             since: datetime | None, escalate: bool) -> tuple[list[dict], set | None]:  # fmt: skip
    """The alerts the touched buckets raise now (every bucket when `touched`
    is None: a full recompute), and the window starts evaluated, for every
    client (None: all of them)."""
    _, _, seconds = _selection(rule, since)
    threshold, distinct = rule.threshold, rule.counts_distinct_paths
    found = []
    for client, hits, wanted in matching_hits(conn, rule, source, touched, since):
        for fired in fired_windows(hits, seconds, threshold, distinct, wanted):
            found.append(alert_values(rule, source, client, fired, seconds, escalate))
    located = networks_of(conn, sorted({values["client_ip"] for values in found}))
    for values in found:
        values["evidence"] |= located.get(values["client_ip"], {"country": None, "asn": None, "as_org": None})
    if touched is None:
        return found, None
    return found, {datetime.fromtimestamp(b * seconds, timezone.utc) for b in touched}


def severity_of(rule: AlertRule, got_2xx: bool, escalate: bool) -> str:
    """The rule's severity, one step up when a probe was answered with a 2xx
    (the thing looked for may be there); a bot's 2xx on a page is no news."""
    base = SEVERITIES.index(rule.level)
    step = 1 if got_2xx and escalate and "probe_category" in rule.when else 0
    return SEVERITIES[min(base + step, len(SEVERITIES) - 1)]


def existing_alerts(conn: Connection, rule: str, source: str, evaluated: set[datetime] | None) -> dict:
    """The stored alerts of the evaluated window starts (all, when None), by
    (client, window start): one range query per span of window starts."""
    query = select(alerts.c.id, alerts.c.client_ip, alerts.c.window_start, alerts.c.hits, alerts.c.severity,
                   alerts.c.distinct_paths).where(alerts.c.rule == rule, alerts.c.source == source)  # fmt: skip
    if evaluated is None:
        return {(r.client_ip, utc_datetime(r.window_start)): r for r in conn.execute(query)}
    found = {}
    starts = sorted(evaluated)
    spans: list[list[datetime]] = []
    for start in starts:
        if spans and (start - spans[-1][1]).total_seconds() <= 3 * 3600:
            spans[-1][1] = start
        else:
            spans.append([start, start])
    for first, last in spans:
        for r in conn.execute(query.where(alerts.c.window_start.between(first, last))):
            key = (r.client_ip, utc_datetime(r.window_start))
            if key[1] in evaluated:
                found[key] = r
    return found


def upsert_alerts(conn: Connection, rule: str, source: str, found: list[dict], evaluated: set | None,
                  remove_stale: bool) -> tuple[list, list, int, int]:  # fmt: skip
    """(new, updated, unchanged count, removed count): one alert per rule,
    source, client and window, written in bulk. An evaluated window that no
    longer fires (its rows were replaced, or its paths turned out to be the
    site's own) loses its alert."""
    existing = existing_alerts(conn, rule, source, evaluated)
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
    still = {(v["client_ip"], v["window_start"]) for v in found}
    stale = [] if not remove_stale else [row.id for key, row in existing.items() if key not in still]
    for start in range(0, len(stale), CLIENTS_PER_QUERY):
        conn.execute(delete(alerts).where(alerts.c.id.in_(stale[start : start + CLIENTS_PER_QUERY])))
    return new, updated, unchanged, len(stale)


def detect(engine: Engine, rules: RuleSet, since: datetime | None = None, geo: GeoLookup | None = None) -> DetectResult:
    """Classify and alert on what no run has seen; commit alerts, verdicts
    and the cursor together. `since`: only requests from then on count.
    `geo`: the address database (default: the one the settings name); a new
    one means one full recompute, like new rules."""
    result = DetectResult()
    geo = geo or geo_lookup()
    networks = bundled_crawler_networks()
    version = f"{rules.version}|{lookup_version(geo, networks)}"
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # one detect at a time (SQLite's BEGIN IMMEDIATE does this)
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('netsift-detect'))"))
        unseen = unseen_objects(conn, version)
        result.objects = len(unseen.loaded_at)
        result.new_agents, result.new_paths = classify_new_values(conn, rules, unseen)
        result.new_clients = locate_new_clients(conn, unseen, geo, networks)
        served = mark_served_paths(conn, unseen)
        for source in SOURCES:
            touched = (None if unseen.everything else
                       touched_buckets(conn, rules.alert_rules, source, unseen, served, since))  # fmt: skip
            for number, rule in enumerate(rules.alert_rules):
                found, evaluated = evaluate(conn, rule, source, None if touched is None else touched[number],
                                            since, rules.escalate_on_2xx)  # fmt: skip
                new, updated, unchanged, removed = upsert_alerts(conn, rule.id, source.name, found, evaluated,
                                                                 remove_stale=since is None)  # fmt: skip
                result.new += new
                result.updated += updated
                result.unchanged += unchanged
                result.removed += removed
        mark_seen(conn, unseen, version)
    return result


