"""The hand-labelled real access log bench/quality.py scores on: every
request has a label, and every labelled probe occurs in the log (a label
for a path the log lacks would be a typo that silently scores nothing)."""

from __future__ import annotations

from bench.real_log import FOLDER, labelled_requests


def test_every_request_is_labelled():
    rows, unparsed = labelled_requests()
    assert len(rows) == 9999 and unparsed == 1  # one upstream line is cut short
    assert {r.bot_category for r in rows if r.is_bot} >= {"search-engine", "feed-reader", "link-preview", "http-library"}
    assert not any(r.bot_category for r in rows if not r.is_bot)


def test_every_labelled_probe_occurs_in_the_log():
    rows, _ = labelled_requests()
    listed = {line.strip() for line in (FOLDER / "probe_paths.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}  # fmt: skip
    assert listed == {r.path for r in rows if r.is_probe}


def test_bot_floor_on_the_real_log():
    """A floor, set below what the rules of the labelling day scored (0.999 /
    0.992), so a rule change that starts calling this site's visitors bots, or
    stops seeing its crawlers and feed readers, fails here."""
    from bench.quality import scores
    from netsift.detection.bots import classify_user_agent
    from netsift.detection.ruleset import bundled_rules

    rows, _ = labelled_requests()
    verdicts = {ua: classify_user_agent(ua, bundled_rules()).is_bot for ua in {r.user_agent for r in rows}}
    precision, recall, _, _ = scores([(r.user_agent, r.is_bot) for r in rows], verdicts.__getitem__)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)
