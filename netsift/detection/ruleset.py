"""Detection rules as data (pySigma's lesson): a YAML file users extend
without code, and a registry from each rule's `type:` to the code matching it.

A bad rule is refused when loaded, with its id and what is wrong: better a
failed run than a detection that silently never fires.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Callable, Iterable

import yaml

from netsift.detection.alert_rules import (  # noqa: F401 (re-exported)
    ALERT_CONDITIONS, BOT_CATEGORIES, PROBE_CATEGORIES, SEVERITIES, AlertRule, RuleError, alert_rule, check_case_ids,
    renamed_hint)

# Package data, found the same way in a clone and in an installed wheel.
BUNDLED = files("netsift.detection").joinpath("rules", "detection.yaml")
# libyaml's safe loader when PyYAML has it: the same documents as SafeLoader, read
# about ten times faster (the bundled rules took 0.3 s, at every command start).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CRAWLER_NETWORKS = files("netsift.detection").joinpath("rules", "crawler_networks.yaml")
# A user-agent-app rule's verdict: a person's app (Electron, in-app webview,
# mail client, media player), decided as not a bot.
HUMAN_APP = "human-app"
MAX_INPUT = 2000  # attacker strings are cut before matching: bounded work per string
DATASET_TYPES = {"user-agent-dataset", "path-name-list"}

# A repeated group that itself holds a repetition, e.g. (a+)+ or (x*y)*: the
# shape behind catastrophic backtracking.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*(?<!\\)[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})")

Matcher = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    category: str
    matches: Matcher  # the rule's category (or the dataset's refinement), or None
    strength: str | None = None
    fires: tuple = ()
    silent: tuple = ()


@dataclass
class RuleSet:
    version: str
    user_agent_rules: list[Rule] = field(default_factory=list)
    path_rules: list[Rule] = field(default_factory=list)
    alert_rules: list[AlertRule] = field(default_factory=list)
    escalate_on_2xx: bool = True


def _fail(rule: dict, problem: str) -> RuleError:
    return RuleError(f"rule {rule.get('id') or rule.get('rule')!r}: {problem}")


def _regex(rule: dict, key: str) -> re.Pattern | None:
    if key not in rule:
        return None
    source = rule[key]
    if not isinstance(source, str) or not source:
        raise _fail(rule, f"{key} must be a non-empty string")
    if _NESTED_REPEAT.search(source):
        raise _fail(rule, f"{key} nests a repetition inside a repetition (catastrophic backtracking)")
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as error:
        raise _fail(rule, f"bad {key}: {error}") from error


def _vetoed_by(rule: dict) -> Callable[[str], bool]:
    exception = _regex(rule, "not_pattern")
    return (lambda text: exception.search(text) is not None) if exception else (lambda text: False)


def _regex_matcher(rule: dict) -> Matcher:
    pattern, vetoed = _regex(rule, "pattern"), _vetoed_by(rule)
    if pattern is None:
        raise _fail(rule, f"type {rule['type']} needs a pattern")
    category = rule["category"]
    return lambda text: category if pattern.search(text) and not vetoed(text) else None


def _glob_matcher(rule: dict) -> Matcher:
    """Shell patterns for users who do not write regexes; fnmatch's
    translation avoids backtracking blow-ups on many `*`."""
    globs = rule.get("globs")
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g for g in globs):
        raise _fail(rule, "type path-glob needs globs: a list of non-empty patterns")
    combined = re.compile("|".join(fnmatch.translate(g.lower()) for g in globs))
    vetoed, category = _vetoed_by(rule), rule["category"]
    return lambda text: category if combined.match(text) and not vetoed(text) else None


def _empty_matcher(rule: dict) -> Matcher:
    return lambda text: rule["category"] if text.strip() in ("", "-") else None


def _dataset_matcher(rule: dict) -> Matcher:
    if rule.get("dataset") != "crawler-user-agents":
        raise _fail(rule, f"unknown dataset {rule.get('dataset')!r}; known: ['crawler-user-agents']")
    from netsift.detection.crawler_dataset import category_of

    mapping = rule.get("categories", {})
    if not isinstance(mapping, dict) or not set(mapping.values()) <= BOT_CATEGORIES:
        raise _fail(rule, f"categories must map dataset tags to {sorted(BOT_CATEGORIES)}")
    vetoed = _vetoed_by(rule)
    return lambda text: None if vetoed(text) else category_of(text, mapping)


def _name_list_matcher(rule: dict) -> Matcher:
    """Entries of a maintained list (one per line, `#` comments) matched as
    the file name, the end, or the start of the normalised path."""
    path = files("netsift.detection").joinpath("rules", str(rule.get("list", "")))
    if not rule.get("list") or not path.is_file():
        raise _fail(rule, f"list {rule.get('list')!r} not found beside detection.yaml")
    entries = {
        line.strip().lower() for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }  # fmt: skip
    how, category, vetoed = rule.get("match", "filename"), rule["category"], _vetoed_by(rule)
    if how == "filename":
        listed = lambda text: text.rsplit("/", 1)[-1] in entries  # noqa: E731
    elif how == "suffix":
        suffixes = tuple(entries)
        listed = lambda text: text.endswith(suffixes)  # noqa: E731
    elif how == "prefix":
        prefixes = tuple(e.rstrip("/") for e in entries)
        listed = lambda text: any(text == p or text.startswith(p + "/") for p in prefixes)  # noqa: E731
    else:
        raise _fail(rule, "match must be filename, suffix or prefix")
    return lambda text: category if listed(text) and not vetoed(text) else None


def _app_matcher(rule: dict) -> Matcher:
    """Apps a person drives, recognised by ua-parser's maintained regexes
    (ua-parser-builtins) rather than hand-written patterns: the rule names
    the parsed families (`families:`) it exempts."""
    families = rule.get("families")
    if not isinstance(families, list) or not families or not all(isinstance(f, str) and f for f in families):
        raise _fail(rule, "type user-agent-app needs families: a list of ua-parser family names")
    from ua_parser import parse_user_agent

    wanted, vetoed, category = {f.lower() for f in families}, _vetoed_by(rule), rule["category"]

    def matches(text: str) -> str | None:
        parsed = parse_user_agent(text) if text.strip() else None
        return category if parsed and parsed.family.lower() in wanted and not vetoed(text) else None

    return matches


# The registry: a rule's `type:` -> (section it belongs to, code building its matcher).
MATCHERS: dict[str, tuple[str, Callable[[dict], Matcher]]] = {
    "empty-user-agent": ("user_agent_rules", _empty_matcher),
    "user-agent-regex": ("user_agent_rules", _regex_matcher),
    "user-agent-dataset": ("user_agent_rules", _dataset_matcher),
    "user-agent-app": ("user_agent_rules", _app_matcher),
    "path-regex": ("path_rules", _regex_matcher),
    "path-glob": ("path_rules", _glob_matcher),
    "path-name-list": ("path_rules", _name_list_matcher),
}


def _samples(rule: dict) -> tuple[tuple, tuple]:
    tests = rule.get("tests") or {}
    if not isinstance(tests, dict) or set(tests) - {"fires", "silent"}:
        raise _fail(rule, "tests must be {fires: [...], silent: [...]}")
    for key in ("fires", "silent"):
        if not isinstance(tests.get(key, []), list) or not all(isinstance(s, str) for s in tests.get(key, [])):
            raise _fail(rule, f"tests.{key} must be a list of strings")
    return tuple(tests.get("fires", ())), tuple(tests.get("silent", ()))


def _rule(raw, section: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{section}: every rule must be a mapping, got {raw!r}")
    rule_id = raw.get("id")
    if not rule_id or not isinstance(rule_id, str):
        raise RuleError(f"a rule in {section} has no id: {raw!r}")
    if raw.get("type") not in MATCHERS:
        raise _fail(raw, f"unknown type {raw.get('type')!r}; known: {sorted(MATCHERS)}")
    home, build = MATCHERS[raw["type"]]
    if home != section:
        raise _fail(raw, f"type {raw['type']} belongs in {home}, not {section}")
    categories = BOT_CATEGORIES if section == "user_agent_rules" else PROBE_CATEGORIES
    if raw["type"] == "user-agent-app":
        categories = {HUMAN_APP}
    if raw["type"] == "user-agent-dataset":
        raw = {"category": "other-bot", **raw}
    if raw.get("category") not in categories:
        raise _fail(raw, f"category {raw.get('category')!r} is not one of {sorted(categories)}{renamed_hint(raw.get('category'))}")
    fires, silent = _samples(raw)
    return Rule(id=rule_id, type=raw["type"], category=raw["category"], matches=build(raw),
                strength=_strength(raw) if section == "path_rules" else None, fires=fires, silent=silent)  # fmt: skip


def _strength(raw: dict) -> str:
    """Site context for every probe rule: a path the site serves with a 2xx to
    ordinary visitors is not a probe (stored strength `weak`), unless the rule
    is marked `always: true` (`strong`): /.env, /.git/config, wp-config
    backups, web shells are never legitimately served. Files written before
    `always` existed say `strength: strong` for the same thing."""
    if "always" in raw:
        if not isinstance(raw["always"], bool):
            raise _fail(raw, f"always must be true or false, got {raw['always']!r}")
        return "strong" if raw["always"] else "weak"
    if raw.get("strength", "weak") not in ("strong", "weak"):
        raise _fail(raw, f"strength must be strong or weak (or say always: true), got {raw.get('strength')!r}")
    return raw.get("strength", "weak")


def _document(path: Path) -> tuple[dict, str]:
    try:
        text = (path if hasattr(path, "read_text") else Path(path)).read_text()
        document = yaml.load(text, Loader=SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RuleError(f"{path}: cannot read rules: {error}") from error
    if not isinstance(document, dict):
        raise RuleError(f"{path}: a rules file is a mapping with version, user_agent_rules, path_rules, alert_rules")
    for section in ("user_agent_rules", "path_rules"):
        ids = [r.get("id") for r in document.get(section) or [] if isinstance(r, dict)]
        twice = {i for i in ids if ids.count(i) > 1}
        if twice:
            raise RuleError(f"{path}: rule ids used twice in {section}: {sorted(twice)}")
    return document, text


def _merged(documents: list[dict]) -> tuple[dict[str, dict[str, dict]], dict[str, AlertRule], bool]:
    sections: dict[str, dict[str, dict]] = {"user_agent_rules": {}, "path_rules": {}}
    alerts: dict[str, AlertRule] = {}
    escalate = True
    for number, document in enumerate(documents):
        for section, known in list(sections.items()):
            added = {}
            for raw in document.get(section) or []:
                rule_id = raw.get("id") if isinstance(raw, dict) else None
                if rule_id in known:
                    known[rule_id] = raw  # an override keeps its place
                else:
                    added[rule_id if rule_id else f"#{len(added)}"] = raw
            # The site's own new rules are tried before the bundled ones.
            sections[section] = {**added, **known} if number else {**known, **added}
        for raw in document.get("alert_rules") or []:
            checked = alert_rule(raw)
            alerts[checked.id] = checked
        escalate = bool(document.get("escalate_on_2xx", escalate))
    return sections, alerts, escalate


def load_rules(paths: Iterable[Path | str] = (), datasets: bool = True) -> RuleSet:
    """The bundled rules, then each extra file: a rule with a known id replaces
    it where it stands; new rules go first, so a site's rules win. The
    version carries a digest of every file, so an edited file re-classifies
    even when nobody bumped its `version:`."""
    loaded = [_document(BUNDLED)] + [_document(Path(p)) for p in paths]
    documents = [document for document, _ in loaded]
    sections, alerts, escalate = _merged(documents)
    check_case_ids(list(alerts.values()))
    if not datasets:  # for measuring what the hand-written rules catch alone
        for section in sections:
            sections[section] = {k: r for k, r in sections[section].items() if r.get("type") not in DATASET_TYPES}
    # The crawler networks file decides user agents' crawler claims: a new one re-classifies too.
    texts = [text for _, text in loaded] + [CRAWLER_NETWORKS.read_text()]
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:8]
    version = "+".join(str(d.get("version", "?")) for d in documents)
    return RuleSet(
        version=f"{version}#{digest}",
        user_agent_rules=[_rule(r, "user_agent_rules") for r in sections["user_agent_rules"].values()],
        path_rules=[_rule(r, "path_rules") for r in sections["path_rules"].values()],
        alert_rules=list(alerts.values()),
        escalate_on_2xx=escalate,
    )


@lru_cache(maxsize=1)
def bundled_rules() -> RuleSet:
    """The shipped rules, loaded once: what classify_* use when given none."""
    return load_rules()
