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
