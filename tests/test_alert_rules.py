"""Every bundled alert rule's test cases, run through the real detection on a
fresh SQLite database: a threshold or window edited without its cases
failing here is a threshold nobody checked."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for, upgrade
from netsift.detection.alerts import detect
from netsift.detection.ruleset import RuleError, bundled_rules, load_rules
from netsift.ingest.sources import Window, list_local
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text

# A case's t = 0; on the hour, so t = 600 is a ten-minute clock boundary.
START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
RULES = bundled_rules()
CASES = [(rule.id, number) for rule in RULES.alert_rules for number in range(len(rule.tests))]


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    """One migrated database file; each case gets a copy of it (a copy is
    far cheaper than running the migrations again)."""
    path = tmp_path_factory.mktemp("alert-rules") / "schema.db"
    upgrade(f"sqlite:///{path}")
    return path


def cloudfront_line(request) -> str:
    at = START + timedelta(seconds=request.t)
    return line(date=at.strftime("%Y-%m-%d"), time=at.strftime("%H:%M:%S"), c_ip=request.client,
                cs_uri_stem=request.path, sc_status=str(request.status),
                cs_user_agent=request.user_agent.replace(" ", "%20"))  # fmt: skip


def raised_by(case, rules, schema, folder) -> set[str]:
    """The alert rules the case's requests raise, loaded as CloudFront rows."""
    database = folder / "case.db"
    # The backup API, not a file copy: the schema may still sit in the WAL file.
    with sqlite3.connect(schema) as source, sqlite3.connect(database) as target:
        source.backup(target)
    source.close(), target.close()
    url = f"sqlite:///{database}"
    logs = folder / "logs"
    logs.mkdir()
    (logs / "case.log").write_text(log_text(*(cloudfront_line(r) for r in case.requests)))
    engine = engine_for(url)
    try:
        for obj in list_local(logs, Window.of()):
            load_object(engine, obj, Settings(database_url=url))
        detect(engine, rules)
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT DISTINCT rule FROM alerts"))}
    finally:
        engine.dispose()


def problems(case, raised: set[str]) -> list[str]:
    missing = sorted(set(case.raises) - raised)
    unwanted = sorted(set(case.silent) & raised)
    return [f"{case.name!r}: did not raise {missing}"] * bool(missing) + [
        f"{case.name!r}: raised {unwanted}, which must stay silent"] * bool(unwanted)  # fmt: skip


@pytest.mark.parametrize("rule_id, number", CASES, ids=[f"{r}-{n + 1}" for r, n in CASES])
def test_bundled_alert_rule_cases(rule_id, number, schema, tmp_path):
    case = next(r for r in RULES.alert_rules if r.id == rule_id).tests[number]
    assert problems(case, raised_by(case, RULES, schema, tmp_path)) == []


def test_every_bundled_alert_rule_has_a_case_that_raises_it_and_one_that_does_not():
    for rule in RULES.alert_rules:
        assert any(rule.id in case.raises for case in rule.tests), rule.id
        assert any(rule.id in case.silent for case in rule.tests), rule.id


def test_a_wrong_expectation_is_caught(schema, tmp_path):
    """The check can fail: nine plugin folders said to raise the alert."""
    rule = next(r for r in RULES.alert_rules if r.id == "wordpress-enumeration")
    nine = next(c for c in rule.tests if c.name == "nine are not enough")
    wrong = replace(nine, raises=("wordpress-enumeration",), silent=("bot-traffic",))
    (tmp_path / "a").mkdir()
    assert problems(wrong, raised_by(wrong, RULES, schema, tmp_path / "a")) == [
        "'nine are not enough': did not raise ['wordpress-enumeration']"]
    ten = next(c for c in rule.tests if c.name.startswith("ten plugin folders"))
    also_wrong = replace(ten, raises=(), silent=("wordpress-enumeration",))
    (tmp_path / "b").mkdir()
    assert problems(also_wrong, raised_by(also_wrong, RULES, schema, tmp_path / "b")) == [
        f"{ten.name!r}: raised ['wordpress-enumeration'], which must stay silent"]


def test_a_user_rule_override_runs_its_own_cases(schema, tmp_path):
    """A site's stricter threshold comes with cases of its own, checked the same way."""
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "alert_rules:\n"
        "  - id: wordpress-enumeration\n"
        "    title: Stricter enumeration\n"
        "    level: high\n"
        "    when: {probe_category: wordpress-enumeration, min_distinct_paths: 5, window_minutes: 10}\n"
        "    tests:\n"
        "      - requests: [{t: 0, path: '/wp-content/plugins/p{n}/', status: 404, repeat: 5, every: 10}]\n"
        "        raises: [wordpress-enumeration]\n"
    )
    rules = load_rules([extra])
    rule = next(r for r in rules.alert_rules if r.id == "wordpress-enumeration")
    assert (rule.title, rule.level, rule.threshold) == ("Stricter enumeration", "high", 5)
    (tmp_path / "run").mkdir()
    assert problems(rule.tests[0], raised_by(rule.tests[0], rules, schema, tmp_path / "run")) == []


@pytest.mark.parametrize(
    "body, message",
    [
        ("alert_rules:\n  - {id: quiet, when: {is_bot: true}}\n", "'quiet'.*has no tests"),
        ("alert_rules:\n  - {id: quiet2, when: {is_bot: true}, tests: []}\n", "'quiet2'.*has no tests"),
        ("alert_rules:\n  - {id: wordpress-probe, when: {probe_category: wordpress}}\n", "'wordpress-probe'.*has no tests"),
        ("alert_rules:\n  - {id: g, group_by: [path], when: {is_bot: true}, tests: [{requests: [{t: 0, path: /}], silent: [g]}]}\n",
         "'g'.*group_by"),
        ("alert_rules:\n  - {id: u, when: {is_bot: true}, tests: [{requests: [{t: 0, path: /}], silent: [u, nope]}]}\n",
         "'u'.*unknown alert rules \\['nope'\\]"),
        ("alert_rules:\n  - {id: o, when: {is_bot: true}, tests: [{requests: [{t: 0, path: /}], silent: [scanner]}]}\n",
         "'o'.*says nothing about this rule"),
        ("alert_rules:\n  - {id: r, when: {is_bot: true}, tests: [{requests: [{t: -1, path: /}], silent: [r]}]}\n", "'r'.*t must"),
        ("alert_rules:\n  - {id: s, rule: t, when: {is_bot: true}}\n", "id and rule disagree"),
    ],
)  # fmt: skip
def test_alert_rules_without_good_tests_are_refused(tmp_path, body, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(body)
    with pytest.raises(RuleError, match=message):
        load_rules([bad])
