"""Alert rules as typed data, shaped like Sigma correlation rules: an id, a
title, a level, what requests are grouped by, a window and a threshold, and
test cases that must pass. A rule without tests is refused when loaded: a
threshold nobody has exercised is a guess.

Sigma's names (`id`, `level`) are accepted beside netsift's older ones
(`rule`, `severity`); the stored `alerts.rule` and `alerts.severity` values
are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass

BOT_CATEGORIES = {"search-engine", "ai-crawler", "ai-agent", "feed-reader", "monitor", "link-preview", "fetch-proxy",
                  "updater", "http-library",
                  "headless-browser", "scanner", "other-bot"}  # fmt: skip
# Names older rule files may still use, and what replaced them: refused with
# that hint, since a rule or alert on a name no verdict carries never fires.
RENAMED_BOT_CATEGORIES = {"feed-or-monitor": "feed-reader or monitor"}
PROBE_CATEGORIES = {"wordpress", "wordpress-enumeration", "php", "admin-panel", "config-leak", "backdoor", "other"}
SEVERITIES = ("low", "medium", "high", "critical")
ALERT_CONDITIONS = {"probe_category", "bot_category", "is_bot", "min_distinct_paths",
                    "min_requests", "window_minutes"}  # fmt: skip
# Selections other than categories: a view column that must be true.
FLAG_CONDITIONS = ("impersonated_crawler",)
ALERT_CONDITIONS |= set(FLAG_CONDITIONS)
# The only grouping the SQL evaluates: one alert per source and client.
GROUP_BY = ("source", "client_ip")
ALERT_KEYS = {"id", "rule", "title", "level", "severity", "group_by", "when", "tests"}
REQUEST_KEYS = {"t", "path", "user_agent", "status", "client", "repeat", "every"}
CASE_KEYS = {"name", "requests", "raises", "silent"}


class RuleError(ValueError):
    """A rules file netsift refuses to load."""


@dataclass(frozen=True)
class TestRequest:
    t: int  # seconds after the case's start
    path: str
    user_agent: str
    status: int
    client: str


@dataclass(frozen=True)
class AlertCase:
    name: str
    requests: tuple[TestRequest, ...]
    raises: tuple[str, ...]
    silent: tuple[str, ...]


@dataclass(frozen=True)
class AlertRule:
    id: str  # stored as alerts.rule
    title: str
    level: str  # stored as alerts.severity (before a 2xx escalates it)
    when: dict  # the selection, as written: probe_category | bot_category | is_bot
    group_by: tuple[str, ...]
    window_minutes: int
    threshold: int
    counts_distinct_paths: bool  # the threshold counts distinct paths, else requests
    tests: tuple[AlertCase, ...]

    # The older names, for callers written before the Sigma-like ones.
    @property
    def rule(self) -> str:
        return self.id

    @property
    def severity(self) -> str:
        return self.level


DEFAULT_CLIENT = "203.0.113.50"
# A browser, so a case about paths raises no bot alert by accident.
DEFAULT_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
MAX_REPEAT = 500  # a test case stays short: it runs in the fast tier


def renamed_hint(values) -> str:
    """What a category renamed since an older rules file is called now."""
    names = values if isinstance(values, list) else [values]
    return "".join(f" ({v!r} is now {RENAMED_BOT_CATEGORIES[v]})" for v in names if v in RENAMED_BOT_CATEGORIES)


def _fail(name, problem: str) -> RuleError:
    return RuleError(f"rule {name!r}: {problem}")


def _alias(raw: dict, new: str, old: str, default=None):
    if new in raw and old in raw and raw[new] != raw[old]:
        raise _fail(raw.get(new), f"{new} and {old} disagree ({raw[new]!r} vs {raw[old]!r}); give one")
    return raw.get(new, raw.get(old, default))


def _whole(name: str, value, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(name, f"{where} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _requests(name: str, raw, where: str) -> list[TestRequest]:
    """One request, or `repeat` of them `every` seconds apart, `{n}` in the
    path counting 0, 1, ...: ten plugin folders without ten lines."""
    if not isinstance(raw, dict) or set(raw) - REQUEST_KEYS or not {"t", "path"} <= set(raw):
        raise _fail(name, f"{where}: a request is {{t, path, user_agent, status, client, repeat, every}} "
                          f"(t and path needed), got {raw!r}")  # fmt: skip
    t = _whole(name, raw["t"], f"{where}: t", 0, 7 * 86400)
    status = _whole(name, raw.get("status", 200), f"{where}: status", 100, 599)
    repeat = _whole(name, raw.get("repeat", 1), f"{where}: repeat", 1, MAX_REPEAT)
    every = _whole(name, raw.get("every", 1), f"{where}: every", 0, 86400)
    path, agent, client = raw["path"], raw.get("user_agent", DEFAULT_AGENT), raw.get("client", DEFAULT_CLIENT)
    if not all(isinstance(f, str) and f for f in (path, agent, client)) or not path.startswith("/"):
        raise _fail(name, f"{where}: path, user_agent and client must be non-empty strings, path starting with /")
    return [TestRequest(t + n * every, path.replace("{n}", str(n)), agent, status, client) for n in range(repeat)]


def _ids(name: str, value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(name, f"{where} must be a list of rule ids, got {value!r}")
    return tuple(value)


def _cases(name: str, raw) -> tuple[AlertCase, ...]:
    if not raw:
        raise _fail(name, "has no tests; every alert rule needs tests: [{requests, raises, silent}, ...]")
    if not isinstance(raw, list):
        raise _fail(name, "tests must be a list of cases {name, requests, raises, silent}")
    cases = []
    for number, case in enumerate(raw):
        where = f"test {number + 1}"
        if not isinstance(case, dict) or set(case) - CASE_KEYS or not case.get("requests"):
            raise _fail(name, f"{where}: a case is {{name, requests: [...], raises: [...], silent: [...]}}")
        if not isinstance(case["requests"], list):
            raise _fail(name, f"{where}: requests must be a list")
        raises, silent = _ids(name, case.get("raises", []), f"{where}.raises"), _ids(name, case.get("silent", []), f"{where}.silent")
        if set(raises) & set(silent):
            raise _fail(name, f"{where}: {sorted(set(raises) & set(silent))} both raised and silent")
        if name not in raises + silent:
            raise _fail(name, f"{where}: says nothing about this rule: name {name!r} in raises or silent")
        requests = tuple(r for raw_request in case["requests"] for r in _requests(name, raw_request, f"{where}.requests"))
        cases.append(AlertCase(str(case.get("name", where)), requests, raises, silent))
    return tuple(cases)


def alert_rule(raw) -> AlertRule:
    """Thresholds are data too: check them now, not when the SQL runs."""
    if not isinstance(raw, dict):
        raise RuleError(f"alert_rules: every entry must be a mapping, got {raw!r}")
    name = _alias(raw, "id", "rule")
    if not name or not isinstance(name, str):
        raise RuleError(f"alert_rules: every entry needs an id (or rule): {raw!r}")
    if set(raw) - ALERT_KEYS:
        raise _fail(name, f"unknown keys {sorted(set(raw) - ALERT_KEYS)}; known: {sorted(ALERT_KEYS)}")
    level = _alias(raw, "level", "severity", "medium")
    if level not in SEVERITIES:
        raise _fail(name, f"level (severity) must be one of {list(SEVERITIES)}, got {level!r}")
    title = raw.get("title", name)
    if not isinstance(title, str) or not title.strip():
        raise _fail(name, "title must be a non-empty string")
    group_by = raw.get("group_by", list(GROUP_BY))
    if not isinstance(group_by, list) or tuple(group_by) != GROUP_BY:
        raise _fail(name, f"group_by can only be {list(GROUP_BY)} (what detection evaluates), got {group_by!r}")
    when = raw.get("when")
    if not isinstance(when, dict) or set(when) - ALERT_CONDITIONS:
        raise _fail(name, f"when must be a mapping of {sorted(ALERT_CONDITIONS)}")
    if not {"probe_category", "bot_category", "is_bot", *FLAG_CONDITIONS} & set(when):
        raise _fail(name, f"when needs probe_category, bot_category, is_bot or one of {list(FLAG_CONDITIONS)}")
    for key in FLAG_CONDITIONS:
        if key in when and when[key] is not True:
            raise _fail(name, f"{key} can only be true, got {when[key]!r}")
    for key, known in (("probe_category", PROBE_CATEGORIES), ("bot_category", BOT_CATEGORIES)):
        values = when.get(key, [])
        if not set(values if isinstance(values, list) else [values]) <= known:
            raise _fail(name, f"{key} {values!r} is not among {sorted(known)}{renamed_hint(values)}")
    for key in ("min_distinct_paths", "min_requests", "window_minutes"):
        value = when.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _fail(name, f"{key} must be a positive whole number, got {value!r}")
    return AlertRule(
        id=name, title=title, level=level, when=dict(when), group_by=GROUP_BY,
        window_minutes=int(when.get("window_minutes", 10)),
        threshold=int(when.get("min_distinct_paths", when.get("min_requests", 1))),
        counts_distinct_paths="min_distinct_paths" in when,
        tests=_cases(name, raw.get("tests")),
    )  # fmt: skip


def check_case_ids(rules: list[AlertRule]) -> None:
    """A case naming a rule that does not exist would pass forever."""
    known = {rule.id for rule in rules}
    for rule in rules:
        for case in rule.tests:
            unknown = sorted(set(case.raises + case.silent) - known)
            if unknown:
                raise _fail(rule.id, f"test {case.name!r} names unknown alert rules {unknown}")
