"""Sliding windows, checked against brute force, and the locality that makes
incremental detection exact: a bucket's verdict needs only the requests from
W seconds before it to its end."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsift.detection.windows import Hit, bucket_of, buckets_touched, fired_windows

W = 600
hits_strategy = st.lists(
    st.builds(Hit, ts=st.integers(0, 6 * W).map(float), path=st.sampled_from(["/a", "/b", "/c", "/d", None]),
              status=st.sampled_from([200, 404, None]), agent=st.just("x")),  # fmt: skip
    max_size=40,
)


def brute_force(hits, threshold, distinct):
    fired = {}
    for t in sorted({h.ts for h in hits}):
        window = [h for h in hits if t - W < h.ts <= t]
        size = len({h.path for h in window if h.path is not None}) if distinct else len(window)
        if size >= threshold:
            fired.setdefault(bucket_of(t, W), []).append(t)
    return {b: sorted((h.ts, h.path or "", h.status or 0) for h in hits if ts[0] - W < h.ts <= ts[-1])
            for b, ts in fired.items()}  # fmt: skip


@settings(max_examples=150)
@given(hits_strategy, st.integers(1, 4), st.booleans())
def test_fired_windows_match_brute_force(hits, threshold, distinct):
    got = {f.bucket: sorted((h.ts, h.path or "", h.status or 0) for h in f.hits)
           for f in fired_windows(hits, W, threshold, distinct)}  # fmt: skip
    assert got == brute_force(hits, threshold, distinct)


@settings(max_examples=150)
@given(hits_strategy, st.integers(1, 4), st.booleans(), st.integers(0, 6))
def test_a_bucket_needs_only_the_requests_from_w_before_it_to_its_end(hits, threshold, distinct, bucket):
    everything = {f.bucket: f.hits for f in fired_windows(hits, W, threshold, distinct)}
    near = [h for h in hits if (bucket - 1) * W <= h.ts < (bucket + 1) * W]
    local = {f.bucket: f.hits for f in fired_windows(near, W, threshold, distinct, buckets=[bucket])}
    assert local.get(bucket) == everything.get(bucket)


def test_a_scan_across_a_bucket_boundary_fires_once_with_all_its_requests():
    scan = [Hit(W - 2.0, "/wp-login.php", 404, "x"), Hit(W - 1.0, "/xmlrpc.php", 404, "x"),
            Hit(W + 1.0, "/wp-admin/", 404, "x")]  # fmt: skip
    (fired,) = fired_windows(scan, W, 3, True)
    assert fired.bucket == 1 and len(fired.hits) == 3
    assert buckets_touched(W - 2.0, W) == (0, 1)


def test_requests_further_apart_than_the_window_do_not_add_up():
    spread = [Hit(0.0, "/a", 404, "x"), Hit(float(W), "/b", 404, "x"), Hit(2.0 * W, "/c", 404, "x")]
    assert fired_windows(spread, W, 3, True) == []
    assert [f.bucket for f in fired_windows(spread, W, 2, False)] == []
