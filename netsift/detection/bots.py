"""Is a user agent a bot, and which kind: one verdict per distinct string.

Later SQL classifies each distinct user agent once and joins the verdict to
the requests, so this stays a pure function of one string: no database, no
Prefect, no state beyond the (cached) rules.
"""

from __future__ import annotations

from typing import NamedTuple

from netsift.detection.ruleset import HUMAN_APP, MAX_INPUT, RuleSet, bundled_rules


class BotVerdict(NamedTuple):
    is_bot: bool
    bot_category: str | None
    rule_id: str | None  # which rule decided: analysts can check, users can override it


HUMAN = BotVerdict(False, None, None)


def classify_user_agent(user_agent: str | None, rules: RuleSet | None = None) -> BotVerdict:
    """The first rule that fires decides; none firing means a person's browser,
    and a `user-agent-app` rule firing means a person's app (rule id kept).

    A missing user agent (None, "", "-") is a bot of category `other-bot`
    decided by the dedicated rule `ua-empty`: every browser sends one.
    Only the first MAX_INPUT characters are looked at (attacker-controlled).
    """
    text = (user_agent or "")[:MAX_INPUT]
    for rule in (rules or bundled_rules()).user_agent_rules:
        category = rule.matches(text)
        if category == HUMAN_APP:  # a person's app: not a bot, and which rule said so
            return BotVerdict(False, None, rule.id)
        if category:
            return BotVerdict(True, category, rule.id)
    return HUMAN
