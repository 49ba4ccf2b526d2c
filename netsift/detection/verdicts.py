"""Verdicts for distinct user agents and paths, for the rows detection has
not seen: Python classifies each distinct value once, never each request."""

from __future__ import annotations

import re

from sqlalchemy import Connection, bindparam, insert, select, text

from netsift.detection.bots import classify_user_agent
from netsift.detection.crawlers import bundled_crawler_networks
from netsift.detection.increments import Unseen, id_chunks
from netsift.detection.probes import classify_path, normalised_path
from netsift.detection.ruleset import RuleSet
from netsift.detection.sources import SOURCES
from netsift.schema import path_verdicts, user_agent_verdicts

CHUNK = 5000
# A plugin's or theme's folder (wherever WordPress is installed), or the core
# /wp-includes/ folder: what a site either has or has not, as a whole.
_WORDPRESS_FOLDER = re.compile(r"^(.*?/wp-content/(?:plugins|themes)/[^/]+|.*?/wp-includes)(?:/|$)")
# Verdicts whose 2xx shows the site has the folder (any plugin file: a readme
# served to visitors counts as much as a stylesheet), and the category the
# folder excuses: enumeration only, never a plugin's PHP (path-wordpress),
# which is how a plugin the site has gets exploited.
FOLDER_WITNESSES = ("wordpress", "wordpress-enumeration")
FOLDER_EXCUSES = "wordpress-enumeration"


def _in_objects(sql: str, conn: Connection, ids: list[int] | None) -> set:
    """The values `sql` selects, over the rows of objects `ids` (all rows when None)."""
    if ids is None:
        return set(conn.execute(text(sql.replace("{objects}", "TRUE"))).scalars())
    found: set = set()
    statement = text(sql.replace("{objects}", "r.source_object_id IN :ids")).bindparams(
        bindparam("ids", expanding=True)
    )
    for chunk in id_chunks(ids):
        found |= set(conn.execute(statement, {"ids": chunk}).scalars())
    return found


def classify_new_values(conn: Connection, rules: RuleSet, unseen: Unseen) -> tuple[int, int]:
    """Verdicts for every distinct user agent and path of the unseen rows that
    has none yet (verdicts of other rules are dropped first)."""
    for table in (user_agent_verdicts, path_verdicts):
        conn.execute(table.delete().where(table.c.rules_version != rules.version))
    agents, paths = set(), set()
    for source in SOURCES:
        ids = None if unseen.everything else unseen.of(source.kind)
        if ids == []:
            continue
        agents |= _in_objects(
            f"SELECT DISTINCT COALESCE(r.{source.agent}, '') FROM {source.table} r WHERE {{objects}} "
            f"AND NOT EXISTS (SELECT 1 FROM user_agent_verdicts v WHERE v.user_agent = COALESCE(r.{source.agent}, ''))",
            conn, ids,
        )  # fmt: skip
        paths |= _in_objects(
            f"SELECT DISTINCT r.{source.path} FROM {source.table} r WHERE {{objects}} AND r.{source.path} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM path_verdicts v WHERE v.path = r.{source.path})",
            conn, ids,
        )  # fmt: skip
    agent_rows = []
    claims = bundled_crawler_networks()
    for agent in agents:
        verdict = classify_user_agent(agent, rules)
        agent_rows.append({"user_agent": agent, "is_bot": verdict.is_bot, "bot_category": verdict.bot_category,
                           "rule_id": verdict.rule_id, "rules_version": rules.version,
                           "crawler_claim": claims.claimed_operator(agent)})  # fmt: skip
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


def mark_served_paths(conn: Connection, unseen: Unseen) -> set[str]:
    """Probe paths of served-sensitive rules (all but `always` ones, stored as
    strength weak) the site turns out to serve (ordinary visitors got a 2xx in
    the unseen rows, or a 304: the server vouched for their cached copy): no longer probes; then the enumeration paths of the
    plugin, theme and /wp-includes/ folders served so (mark_served_folders).
    Returns them all, so the alerts their older requests counted toward are
    evaluated again."""
    served: set[str] = set()
    for source in SOURCES:
        ids = None if unseen.everything else unseen.of(source.kind)
        if ids == []:
            continue
        served |= _in_objects(
            f"SELECT DISTINCT r.{source.path} FROM {source.table} r "
            f"JOIN user_agent_verdicts u ON u.user_agent = COALESCE(r.{source.agent}, '') "
            f"JOIN path_verdicts p ON p.path = r.{source.path} "
            f"WHERE {{objects}} AND p.strength = 'weak' AND NOT p.human_2xx AND NOT u.is_bot "
            f"AND (r.{source.status} BETWEEN 200 AND 299 OR r.{source.status} = 304)",
            conn, ids,
        )  # fmt: skip
    _mark(conn, served)
    return served | mark_served_folders(conn)


def _mark(conn: Connection, paths: set[str]) -> None:
    listed = sorted(paths)
    for start in range(0, len(listed), CHUNK):
        conn.execute(path_verdicts.update().where(path_verdicts.c.path.in_(listed[start : start + CHUNK]))
                     .values(human_2xx=True))  # fmt: skip


def wordpress_folder(path: str) -> str | None:
    """The plugin, theme or /wp-includes/ folder a path lies in, normalised
    (so `/WP-Content/Plugins/Akismet/x.css` and `/wp-content/plugins/akismet/`
    are one folder), or None."""
    found = _WORDPRESS_FOLDER.match(normalised_path(path))
    return found.group(1) + "/" if found else None


def mark_served_folders(conn: Connection) -> set[str]:
    """Enumeration paths in a plugin, theme or /wp-includes/ folder the site
    serves: no longer probes. Scanners fingerprint a site by asking for files
    of many plugins; a visitor's browser asks for files of the plugins the
    site has, and the files it asks for vary by page (one stylesheet here, a
    script there). So served is decided per folder, not per path: once
    ordinary visitors got a 2xx on any file of a plugin, its other files are
    not enumeration either, whoever asks and however they are answered.

    Read from the verdict table, not the requests: a folder is served when
    any of its paths is (human_2xx), so a path first seen after its folder
    was served is excused too, and an incremental run reaches what a full
    recompute does. Paths are compared in Python after normalising (never
    put into SQL text); both lists are bounded by the distinct WordPress
    paths seen. Returns the paths excused now, so the alerts their older
    requests counted toward are evaluated again."""
    witnesses = conn.execute(select(path_verdicts.c.path).where(
        path_verdicts.c.human_2xx, path_verdicts.c.probe_category.in_(FOLDER_WITNESSES))).scalars()  # fmt: skip
    folders = {folder for path in witnesses if (folder := wordpress_folder(path))}
    if not folders:
        return set()
    candidates = conn.execute(select(path_verdicts.c.path).where(
        ~path_verdicts.c.human_2xx, path_verdicts.c.strength == "weak",
        path_verdicts.c.probe_category == FOLDER_EXCUSES)).scalars()  # fmt: skip
    excused = {path for path in candidates if wordpress_folder(path) in folders}
    _mark(conn, excused)
    return excused
