"""A real site's access log, labelled by hand: per-request precision and
recall of `is_bot` and `is_probe` (tests/data/detection/SOURCES.md says
where the log comes from and how every label was decided).

The log is Apache's combined format, not CloudFront's, so the detection's
SQL is modelled here as bench/quality.py models it: a weak probe verdict
counts only on a path no ordinary visitor (a user agent netsift does not
call a bot) got a 2xx or a 304 for, anywhere in the log.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from netsift.detection.bots import classify_user_agent
from netsift.detection.probes import classify_path

FOLDER = Path(__file__).resolve().parent.parent / "tests" / "data" / "detection" / "semicomplete"
LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(?:\S+ (\S+)(?: \S+)?|[^"]*)" (\d{3}) \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"')


class Request(NamedTuple):
    path: str  # the request target without its query, as CloudFront's cs-uri-stem
    status: int
    user_agent: str
    is_bot: bool  # labels
    bot_category: str | None
    is_probe: bool


def labelled_requests(folder: Path = FOLDER) -> tuple[list[Request], int]:
    """Every parsed request with its labels, and how many lines did not parse
    (one line of the upstream file is cut short)."""
    agents = {}
    for line in (folder / "user_agents.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            label, category, _, agent = line.split("\t", 3)
            agents[agent] = (label == "bot", None if category == "-" else category)
    probes = {line.strip() for line in (folder / "probe_paths.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}  # fmt: skip
    rows, unparsed = [], 0
    for line in gzip.decompress((folder / "apache_logs.gz").read_bytes()).decode("utf-8", "replace").splitlines():
        found = LINE.match(line)
        if not found or found.group(3) not in agents:
            unparsed += 1
            continue
        path = (found.group(1) or "").split("?", 1)[0]
        is_bot, category = agents[found.group(3)]
        rows.append(Request(path, int(found.group(2)), found.group(3), is_bot, category, path in probes))
    return rows, unparsed


def served_paths(rows: list[Request], rules) -> set[str]:
    """Paths an ordinary visitor got a 2xx or a 304 for (verdicts.mark_served_paths)."""
    return {r.path for r in rows
            if (200 <= r.status < 300 or r.status == 304) and not classify_user_agent(r.user_agent, rules).is_bot}


def report(rules, scores) -> list[tuple[str, tuple]]:
    """(row name, (precision, recall, positives, negatives)) per request."""
    rows, _ = labelled_requests()
    served = served_paths(rows, rules)
    bot = {ua: classify_user_agent(ua, rules) for ua in {r.user_agent for r in rows}}
    probe = {p: classify_path(p, rules) for p in {r.path for r in rows}}
    counted = lambda r: probe[r.path].strength == "strong" or (  # noqa: E731
        probe[r.path].strength == "weak" and r.path not in served)
    out = [
        ("is_bot, netsift", scores([(r, r.is_bot) for r in rows], lambda r: bot[r.user_agent].is_bot)),
        ("is_probe, netsift (strong + weak)", scores([(r, r.is_probe) for r in rows], lambda r: probe[r.path].is_probe)),
        ("is_probe, netsift as the detection counts it", scores([(r, r.is_probe) for r in rows], counted)),
    ]
    return out


def category_confusion(rules) -> Counter:
    """(labelled category, netsift's category) -> requests, for bots either side."""
    rows, _ = labelled_requests()
    verdicts = {ua: classify_user_agent(ua, rules) for ua in {r.user_agent for r in rows}}
    return Counter((r.bot_category, verdicts[r.user_agent].bot_category) for r in rows
                   if r.is_bot or verdicts[r.user_agent].is_bot)  # fmt: skip
