"""A date window without --distribution on legacy names, against moto's server
over real HTTP: the distributions are found by a skip scan (one MaxKeys=1
request each) and only the window's days of each are listed; what the scan
lists equals filtering a full listing, odd keys included."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsift.ingest.s3_clients import new_s3_client
from netsift.ingest.sources import Window, list_s3
from tests.test_s3 import put_many

HIGHEST = "\U0010ffff"
DISTRIBUTIONS = ("E1AAAAAAAAAAAA", "E2BBBBBBBBBBBB", "E3CCCCCCCCCCCC")
FIRST_DAY = datetime(2026, 10, 12, tzinfo=timezone.utc)
HOURS = [FIRST_DAY + timedelta(hours=n) for n in range(20 * 24)]  # 2026-10-12 .. 2026-10-31, hourly


MOVED = "E4DDDDDDDDDDDD"  # a distribution whose logs moved to v2's partitions under the same prefix


def legacy(distribution: str, hour: datetime, unique: str = "u") -> str:
    return f"cf/{distribution}.{hour:%Y-%m-%d-%H}.{unique}.gz"


def v2(distribution: str, hour: datetime) -> str:
    return f"cf/{distribution}/{hour:%Y/%m/%d/%H}/{distribution}.{hour:%Y-%m-%d-%H}.v2.gz"


def hive(distribution: str, hour: datetime, key: str = "DistributionId") -> str:
    return (f"cf/{key}={distribution}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"
            f"{distribution}.{hour:%Y-%m-%d-%H}.hive.gz")  # fmt: skip


def recording_client():
    """A client of its own, recording every ListObjectsV2's Prefix, StartAfter and MaxKeys."""
    client = new_s3_client()
    calls: list[tuple] = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: calls.append((params.get("Prefix"), params.get("StartAfter"), params.get("MaxKeys"))),
    )
    return client, calls


def keys_of(objects, bucket: str) -> list[str]:
    return [o.uri.removeprefix(f"s3://{bucket}/") for o in objects]


def filtered_full_listing(client, source: str, window: Window) -> list:
    return [o for o in list_s3(client, source, Window.of()) if window.admits(o)]


def listed_in_window(s3, distribution: str | None, since: datetime, hours: int) -> tuple[list, list, list]:
    """The keys `cf/` lists for the window (checked against filtering a full
    listing), the ListObjectsV2 requests that cost, and the window's hours."""
    client, calls = recording_client()
    window = Window.of(distribution, since, since + timedelta(hours=hours))
    listed = keys_of(list_s3(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    sent = list(calls)
    assert listed == keys_of(filtered_full_listing(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    return listed, sent, [h for h in HOURS if since <= h < since + timedelta(hours=hours)]


def test_a_26_hour_window_lists_each_distribution_found_and_only_its_days(s3):
    put_many(s3, [legacy(d, h) for d in DISTRIBUTIONS for h in HOURS])  # 1,440 keys
    client, calls = recording_client()
    since = datetime(2026, 10, 29, 23, tzinfo=timezone.utc)
    window = Window.of(None, since, since + timedelta(hours=26))  # 29th 23:00 up to 31st 01:00
    listed = keys_of(list_s3(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    wanted = [h for h in HOURS if since <= h < since + timedelta(hours=26)]
    assert len(wanted) == 26
    assert listed == [legacy(d, h) for d in DISTRIBUTIONS for h in wanted]
    days = ("2026-10-29", "2026-10-30", "2026-10-31")
    assert calls == [
        ("cf/", None, 50),  # the layout probe: files at the top, so legacy names (a short page)
        ("cf/", None, 1),  # the scan's first key: the first distribution
        *[(f"cf/{DISTRIBUTIONS[0]}.{day}-", None, 1000) for day in days],
        ("cf/", f"cf/{DISTRIBUTIONS[0]}.{HIGHEST}", 1),  # past all of its keys in one jump
        *[(f"cf/{DISTRIBUTIONS[1]}.{day}-", None, 1000) for day in days],
        ("cf/", f"cf/{DISTRIBUTIONS[1]}.{HIGHEST}", 1),
        *[(f"cf/{DISTRIBUTIONS[2]}.{day}-", None, 1000) for day in days],
        ("cf/", f"cf/{DISTRIBUTIONS[2]}.{HIGHEST}", 1),  # nothing after the last one: the end
    ]
    # 1 probe + 4 scan requests + 9 day listings, against a full listing's 2 pages of 1,000 keys:
    # with a year of history the scan's count stays, the full listing's grows to 27.
    assert listed == keys_of(filtered_full_listing(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)


def test_a_v2_folder_beside_legacy_names_lists_only_the_window_hours(s3):
    """A distribution that moved to v2's partitions under the same prefix:
    its folder is probed and listed by the window's hours, like the legacy
    distributions' days, not with its twenty days of history."""
    put_many(s3, [legacy(DISTRIBUTIONS[0], h) for h in HOURS] + [v2(MOVED, h) for h in HOURS])
    listed, calls, wanted = listed_in_window(s3, None, datetime(2026, 10, 29, 23, tzinfo=timezone.utc), 26)
    assert listed == [legacy(DISTRIBUTIONS[0], h) for h in wanted] + [v2(MOVED, h) for h in wanted]
    under = [c for c in calls if c[0].startswith(f"cf/{MOVED}/")]
    assert [c[0] for c in under if c[2] == 1000] == [
        f"cf/{MOVED}/2026/10/29/23/", f"cf/{MOVED}/2026/10/30/", f"cf/{MOVED}/2026/10/31/00/"]  # fmt: skip
    # 1 probe, 3 scan requests, 3 legacy days, the folder's 2 probes and its 3 prefixes;
    # a full listing would return all 960 keys, and more with every hour of history.
    assert len(calls) <= 12, calls


def test_folders_deep_under_the_source_are_listed_whole_past_a_depth(s3):
    """Each folder level read the same way costs a probe and a scan: past
    FOLDER_DEPTH levels a folder is listed whole, and nothing in the window is lost."""
    from netsift.ingest.sources import FOLDER_DEPTH

    hour = datetime(2026, 11, 1, 5, tzinfo=timezone.utc)
    deep = ["cf/" + "a/" * n + legacy("E7", hour, f"d{n}").removeprefix("cf/") for n in range(1, FOLDER_DEPTH + 4)]
    put_many(s3, [legacy("E1", hour)] + deep)
    client, calls = recording_client()
    window = Window.of(None, "2026-11-01T05:00", "2026-11-01T06:00")
    listed = keys_of(list_s3(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    assert sorted(listed) == sorted([legacy("E1", hour)] + deep)
    assert listed == keys_of(filtered_full_listing(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    whole = "cf/" + "a/" * (FOLDER_DEPTH + 1)
    assert (whole, None, 1000) in calls  # the folder past the depth, listed whole
    assert not any(c[0].startswith(whole + "a/") for c in calls)


ODD = [
    "cf/",  # a folder marker for the prefix itself
    "cf/README.txt",  # begins like a distribution's names (`README.`): a run, with no date in it
    "cf/readme.txt",
    "cf/e1.2026-11-01-05.lower.gz",  # lowercase: a file of its own, dated by name (distribution "1")
    "cf/_E1.2026-11-01-06.under.gz",  # dated by name too, read as it is met
    "cf/\u00e9t\u00e9.txt",  # beyond ASCII
    "cf/E1.~tilde",  # in E1's run, no date
    "cf/E1.\u00e9",  # in E1's run, beyond ASCII: still passed by the jump
    "cf/E1.\U0010ffffz",  # in E1's run but after the jump: met, and E1 not listed twice
    "cf/E1/2026/11/01/05/plain.gz",  # a v2 folder beside the legacy files: its window's hours, dated by its folders
    "cf/AWSLogs/123456789012/CloudFront/E9.2026-11-01-05.aws.gz",  # a folder, dated by name
    "cf/AWSLogs/123456789012/CloudFront/E9.2026-10-01-05.aws.gz",  # the same folder, outside the window
    "cf/old/",  # a folder marker
    "cf/zz-last.txt",
]


def test_odd_keys_between_distributions_break_nothing_and_nothing_dated_is_lost(s3):
    hours = [datetime(2026, 11, 1, h, tzinfo=timezone.utc) for h in range(3, 9)]
    runs = [legacy(d, h) for d in ("E1", "E12", "E1A", "A0") for h in hours]
    many = [f"cf/x-{n:04d}.txt" for n in range(1200)]  # a run of other files, read 1,000 at a time
    put_many(s3, runs + ODD + many)
    client, calls = recording_client()
    window = Window.of(None, "2026-11-01T05:00", "2026-11-01T07:00")
    listed = keys_of(list_s3(client, f"s3://{s3.bucket}/cf", window), s3.bucket)
    assert listed == keys_of(filtered_full_listing(client, f"s3://{s3.bucket}/cf/", window), s3.bucket)
    assert sorted(listed) == sorted(
        [legacy(d, h) for d in ("E1", "E12", "E1A", "A0") for h in hours[2:4]]
        + ["cf/e1.2026-11-01-05.lower.gz", "cf/_E1.2026-11-01-06.under.gz", "cf/E1/2026/11/01/05/plain.gz",
           "cf/AWSLogs/123456789012/CloudFront/E9.2026-11-01-05.aws.gz"]  # fmt: skip
    )
    scan = [c for c in calls if c[0] == "cf/"][1:]  # after the probe
    assert [c[1] for c in scan if c[1] and c[1].endswith(HIGHEST)] == [
        f"cf/{run}{HIGHEST}" for run in ("A0.", "AWSLogs/", "E1.", "E1/", "E12.", "E1A.", "README.", "old/")
    ]
    # one request per run, the 1,200 other files, the 6 odd ones and the key past E1's jump, and the end
    assert len(scan) <= 8 + 7 + 3 + 1
    assert max(c[2] for c in scan) == 1000


def test_until_alone_or_a_named_distribution_list_as_before(s3):
    put_many(s3, [legacy(d, h) for d in DISTRIBUTIONS[:2] for h in HOURS[:3]])
    client, calls = recording_client()
    source = f"s3://{s3.bucket}/cf/"
    assert len(list(list_s3(client, source, Window.of(None, None, "2026-10-12T02:00")))) == 4
    assert [c[:2] for c in calls] == [("cf/", None), ("cf/", None)]  # no first day: the probe, then all
    calls.clear()
    assert len(list(list_s3(client, source, Window.of(DISTRIBUTIONS[1], "2026-10-12", "2026-10-12")))) == 3
    # the probe, one key's request for each spelling of a v2 folder of the distribution (none here), the day
    assert [c[0] for c in calls] == ["cf/", f"cf/{DISTRIBUTIONS[1]}/", f"cf/DistributionId={DISTRIBUTIONS[1]}/",
                                     f"cf/distributionid={DISTRIBUTIONS[1]}/", f"cf/{DISTRIBUTIONS[1]}.2026-10-12-"]


@pytest.mark.parametrize("moved_to", [v2, hive, lambda d, h: hive(d, h, "distributionid")])
def test_a_named_distribution_moved_to_v2_beside_its_legacy_names_lists_both_by_the_window(s3, moved_to):
    put_many(s3, [legacy(d, h) for d in (DISTRIBUTIONS[0], MOVED) for h in HOURS] + [moved_to(MOVED, h) for h in HOURS])
    listed, calls, wanted = listed_in_window(s3, MOVED, datetime(2026, 10, 30, 22, tzinfo=timezone.utc), 4)
    moved = [moved_to(MOVED, h) for h in wanted]
    assert listed == sorted([legacy(MOVED, h) for h in wanted] + moved)
    # Two legacy days, then (in key order among them) the folder's four hours, one prefix each.
    listings = [c[0] for c in calls if c[2] == 1000]
    assert listings == sorted(listings) and len(listings) == 6
    assert {f"cf/{MOVED}.2026-10-30-", f"cf/{MOVED}.2026-10-31-"} < set(listings)
    hours = [p for p in listings if not p.startswith(f"cf/{MOVED}.")]
    assert [[key for key in moved if key.startswith(p)] for p in hours] == [[key] for key in moved]


DISTRIBUTION_IDS = st.sampled_from(["E1", "E12", "E1A", "E2", "A", "Z9", "0"])
NOVEMBER = datetime(2026, 11, 1, tzinfo=timezone.utc)
LEGACY_KEYS = st.builds(
    lambda d, hours, unique: legacy(d, NOVEMBER + timedelta(hours=hours), unique),
    DISTRIBUTION_IDS, st.integers(0, 4 * 24), st.sampled_from(["a", "b"]),
)  # fmt: skip
KEYS = st.lists(st.one_of(LEGACY_KEYS, st.sampled_from(ODD + ["cf/b.txt", "cf/old/E2.2026-11-02-01.o.gz"])),
                max_size=30, unique=True)  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=KEYS, start=st.integers(0, 4 * 24), hours=st.integers(1, 40))
def test_the_skip_scan_lists_what_filtering_a_full_listing_keeps(s3, keys, start, hours):
    bucket = f"scan-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    put_many_to(s3, bucket, keys)
    client = new_s3_client()
    since = NOVEMBER + timedelta(hours=start)
    window = Window.of(None, since, since + timedelta(hours=hours))
    source = f"s3://{bucket}/cf/"
    assert keys_of(list_s3(client, source, window), bucket) == keys_of(
        filtered_full_listing(client, source, window), bucket
    )


def put_many_to(s3, bucket: str, keys) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
