"""The rules file: every rule fires on its samples and stays silent on its
others; bad rules are refused by id; a site's file extends and overrides."""

from __future__ import annotations

import time

import pytest

from netsift.detection.bots import classify_user_agent
from netsift.detection.probes import classify_path, normalised_path
from netsift.detection.ruleset import HUMAN_APP, BOT_CATEGORIES, MATCHERS, RuleError, bundled_rules, load_rules

RULES = load_rules()


@pytest.mark.parametrize("rule", RULES.user_agent_rules, ids=lambda r: r.id)
def test_user_agent_rule_samples(rule):
    assert rule.fires, f"{rule.id} ships no sample it must fire on"
    for sample in rule.fires:
        category = rule.matches(sample)
        expected = category in BOT_CATEGORIES if rule.type == "user-agent-dataset" else category == rule.category
        assert expected, f"{rule.id} should fire as {rule.category} on {sample!r}, gave {category!r}"
        # A human-app rule firing means a person's app: not a bot, by that rule.
        verdict = classify_user_agent(sample, RULES)
        assert verdict.is_bot != (rule.category == HUMAN_APP), (sample, verdict)
    for sample in rule.silent:
        assert rule.matches(sample) is None, f"{rule.id} fired on {sample!r}"
        assert classify_user_agent(sample, RULES).is_bot is False, f"{sample!r} is a browser"


@pytest.mark.parametrize("rule", RULES.path_rules, ids=lambda r: r.id)
def test_path_rule_samples(rule):
    assert rule.fires and rule.silent, f"{rule.id} must ship samples both ways"
    for sample in rule.fires:
        assert rule.matches(normalised_path(sample)) == rule.category, f"{rule.id} should fire on {sample!r}"
        assert classify_path(sample, RULES).is_probe, sample
    for sample in rule.silent:
        assert rule.matches(normalised_path(sample)) is None, f"{rule.id} fired on {sample!r}"


def test_strong_rules_are_tried_before_weak_ones():
    strengths = [rule.strength for rule in RULES.path_rules]
    assert strengths == sorted(strengths, key=lambda s: s != "strong")


def test_every_rule_type_is_registered_and_used():
    used = {rule.type for rule in RULES.user_agent_rules + RULES.path_rules}
    assert used == set(MATCHERS)


def test_alert_rules_are_loaded_with_thresholds():
    alerts = {rule.id: rule for rule in RULES.alert_rules}
    probe = alerts["wordpress-probe"]
    assert (probe.rule, probe.severity, probe.title) == ("wordpress-probe", "medium", "WordPress login, admin and API probing")
    assert (probe.group_by, probe.window_minutes, probe.threshold, probe.counts_distinct_paths) == (
        ("source", "client_ip"), 10, 3, True)
    assert probe.when == {"probe_category": "wordpress", "min_distinct_paths": 3, "window_minutes": 10}
    assert {"php-probe", "scanner", "bot-traffic"} <= set(alerts)
    assert alerts["scanner"].when["bot_category"] == "scanner"
    assert (alerts["scanner"].threshold, alerts["scanner"].counts_distinct_paths) == (1, False)


def test_bundled_rules_are_loaded_once():
    assert bundled_rules() is bundled_rules()
    assert classify_user_agent("curl/8.5.0") == classify_user_agent("curl/8.5.0", RULES)


def test_user_rules_extend_and_override(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "version: local-1\n"
        "path_rules:\n"
        "  - {id: path-admin-panel, type: path-regex, category: admin-panel, strength: strong, pattern: '^/secret-admin'}\n"
        "  - {id: my-legacy, type: path-glob, category: other, strength: strong, globs: ['/legacy/*.cgi'],\n"
        "     tests: {fires: [/legacy/upload.cgi], silent: [/legacy/]}}\n"
        "user_agent_rules:\n"
        "  - {id: my-monitor, type: user-agent-regex, category: monitor, pattern: '^AcmeProbe/'}\n"
        "alert_rules:\n"
        "  - {rule: wordpress-probe, severity: high, when: {probe_category: wordpress, min_distinct_paths: 5, window_minutes: 5},\n"
        "     tests: [{requests: [{t: 0, path: /wp-login.php}], silent: [wordpress-probe]}]}\n"
    )
    rules = load_rules([extra])
    assert rules.version.startswith("2+local-1#")
    assert classify_path("/secret-admin/x", rules) == (True, "admin-panel", "strong", "path-admin-panel")
    assert classify_path("/administrator/", RULES).rule_id == "path-admin-panel"
    assert classify_path("/administrator/", rules).rule_id != "path-admin-panel"  # the override replaced it
    assert classify_path("/legacy/upload.cgi", rules).rule_id == "my-legacy"  # new rules go first
    assert classify_user_agent("AcmeProbe/2.0 curl/8.0", rules) == (True, "monitor", "my-monitor")
    alert = next(a for a in rules.alert_rules if a.rule == "wordpress-probe")  # the old names still read
    assert (alert.severity, alert.threshold, alert.window_minutes) == ("high", 5, 5)
    assert len(rules.alert_rules) == len(RULES.alert_rules)


def test_version_follows_the_content(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text("version: 7\npath_rules: []\n")
    first = load_rules([extra]).version
    extra.write_text("version: 7\npath_rules: []\n# edited\n")
    assert load_rules([extra]).version != first


@pytest.mark.parametrize(
    "body, message",
    [
        ("path_rules:\n  - {id: r1, type: path-regex, category: php, strength: strong, pattern: '(unclosed'}\n", "'r1'.*bad pattern"),
        ("path_rules:\n  - {id: r2, type: nope, category: php}\n", "'r2'.*unknown type"),
        ("path_rules:\n  - {id: r3, type: path-regex, category: nonsense, strength: weak, pattern: x}\n", "'r3'.*category"),
        ("path_rules:\n  - {id: r4, type: path-regex, category: php, strength: medium, pattern: x}\n", "'r4'.*strength"),
        ("path_rules:\n  - {id: r4b, type: path-regex, category: php, always: 'yes', pattern: x}\n", "'r4b'.*always"),
        ("path_rules:\n  - {id: r5, type: path-regex, category: php, strength: weak, pattern: '(a+)+$'}\n", "'r5'.*catastrophic"),
        ("path_rules:\n  - {id: r6, type: user-agent-regex, category: scanner, pattern: x}\n", "'r6'.*belongs in user_agent_rules"),
        ("path_rules:\n  - {id: r7, type: path-glob, category: php, strength: weak}\n", "'r7'.*globs"),
        ("path_rules:\n  - {id: r8, type: path-regex, category: php, strength: weak, pattern: x, tests: {fires: x}}\n", "'r8'.*fires"),
        ("user_agent_rules:\n  - {type: user-agent-regex, category: scanner, pattern: x}\n", "has no id"),
        ("user_agent_rules:\n  - {id: d, type: user-agent-regex, category: scanner, pattern: x}\n"
         "  - {id: d, type: user-agent-regex, category: scanner, pattern: y}\n", "used twice.*'d'"),
        ("alert_rules:\n  - {rule: a1, severity: extreme, when: {is_bot: true}}\n", "'a1'.*severity"),
        ("alert_rules:\n  - {rule: a2, when: {probe_category: php, window_minutes: 0}}\n", "'a2'.*window_minutes"),
        ("alert_rules:\n  - {rule: a3, when: {probe_category: sql}}\n", "'a3'.*probe_category"),
        ("alert_rules:\n  - {rule: a4, when: {min_requests: 3}}\n", "'a4'.*needs"),
        ("- just a list\n", "mapping"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_with_their_id(tmp_path, body, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(body)
    with pytest.raises(RuleError, match=message):
        load_rules([bad])


def test_hostile_input_length_is_bounded():
    started = time.perf_counter()
    for hostile in ("a" * 1_000_000 + "bot", "Mozilla/5.0 (" + "compatible; " * 50_000, "/" + "a." * 500_000,
                    "(" * 100_000, "x" * 1999 + "(compatible;" + " " * 100_000):  # fmt: skip
        classify_user_agent(hostile, RULES)
        classify_path(hostile, RULES)
        classify_path("/" + "a/" * 500_000 + ".env", RULES)
    assert time.perf_counter() - started < 5


def test_a_renamed_category_is_refused_with_its_new_names(tmp_path):
    extra = tmp_path / "old.yaml"
    extra.write_text("user_agent_rules:\n  - {id: my-feeds, type: user-agent-regex, category: feed-or-monitor, pattern: '^AcmeFeed/'}\n")
    with pytest.raises(RuleError, match="'feed-or-monitor' is now feed-reader or monitor"):
        load_rules([extra])
