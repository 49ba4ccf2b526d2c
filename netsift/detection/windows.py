"""Which windows of one client's matching requests fire an alert rule.

A rule fires when, within any W seconds, a client's matching requests reach
its threshold (distinct paths, or requests): a sliding window, so a scan is
caught wherever it starts, and never split in two by a clock boundary.

Alerts keep a stable identity for updates and exactly-once events: the
bucket of W seconds (from the epoch) in which a qualifying window *ends*.
An alert's requests are those of its qualifying windows, which may begin in
the previous bucket. A bucket's verdict depends only on requests from W
before it to its end: incremental runs re-evaluate just the buckets that new
requests touch (their own and the next) and reach what a full recompute does.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Hit:
    """One request that matches the rule's selection."""

    ts: float  # epoch seconds
    path: str | None
    status: int | None
    agent: str | None


@dataclass(frozen=True)
class Fired:
    bucket: int
    hits: tuple[Hit, ...]

    def window_start(self, seconds: int) -> datetime:
        return datetime.fromtimestamp(self.bucket * seconds, timezone.utc)


def bucket_of(ts: float, seconds: int) -> int:
    return int(ts // seconds)


def buckets_touched(ts: float, seconds: int) -> tuple[int, int]:
    """The buckets whose verdict a request at `ts` can change: its own, and
    the next (whose windows reach back W seconds into this one)."""
    bucket = bucket_of(ts, seconds)
    return bucket, bucket + 1


def fired_windows(hits: Sequence[Hit], seconds: int, threshold: int, distinct_paths: bool,
                  buckets: Iterable[int] | None = None) -> list[Fired]:  # fmt: skip
    """The buckets that fire among `buckets` (all when None), each with the
    requests of its qualifying windows. `hits` must cover, for each bucket
    asked about, everything from W seconds before it to its end."""
    ordered = sorted(hits, key=lambda h: (h.ts, h.path or "", h.status or 0, h.agent or ""))
    wanted = None if buckets is None else set(buckets)
    # Per distinct timestamp t: does the window (t - W, t] qualify?
    qualifying: dict[int, list[float]] = {}
    paths: Counter = Counter()
    left = 0
    index = 0
    while index < len(ordered):
        t = ordered[index].ts
        end = index
        while end < len(ordered) and ordered[end].ts == t:
            paths[ordered[end].path] += 1
            end += 1
        while ordered[left].ts <= t - seconds:
            paths[ordered[left].path] -= 1
            if not paths[ordered[left].path]:
                del paths[ordered[left].path]
            left += 1
        size = len(paths) - (1 if None in paths else 0) if distinct_paths else end - left
        bucket = bucket_of(t, seconds)
        if size >= threshold and (wanted is None or bucket in wanted):
            qualifying.setdefault(bucket, []).append(t)
        index = end
    stamps = [h.ts for h in ordered]
    fired = []
    for bucket, times in sorted(qualifying.items()):
        start, end = bisect_right(stamps, times[0] - seconds), bisect_right(stamps, times[-1])
        fired.append(Fired(bucket, tuple(ordered[start:end])))
    return fired
