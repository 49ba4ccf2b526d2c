"""CloudFront standard logging v2's partitioned key layouts, without S3: what a
key's folders say, and which prefixes a window lists (tests/test_s3_layouts.py
runs the same against moto)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from netsift.ingest.layouts import Layout, layout_of, partition_of, time_prefixes
from netsift.ingest.sources import SourceObject, Window


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


PLAIN = Layout(hive=False, by_distribution=True)
HIVE = Layout(hive=True, by_distribution=True)


def key_for(layout: Layout, distribution: str, hour: datetime, name: str, prefix: str = "logs/cf/") -> str:
    folder = layout.distribution_folder(distribution) if layout.by_distribution else ""
    return f"{prefix}{folder}{layout.hour_prefix(hour)}{name}"


def test_the_documented_shapes_give_distribution_and_hour():
    cases = {
        "cf/E2ABC123/2026/11/01/05/a.gz": ("E2ABC123", utc(2026, 11, 1, 5)),
        "cf/distributionid=E2ABC123/year=2026/month=11/day=01/hour=05/a.parquet": ("E2ABC123", utc(2026, 11, 1, 5)),
        "cf/DistributionId=E2ABC123/year=2026/month=11/day=01/hour=05/a.parquet": ("E2ABC123", utc(2026, 11, 1, 5)),
        "cf/2026/11/01/05/a.gz": (None, utc(2026, 11, 1, 5)),  # the prefix already names the distribution
        "cf/year=2026/month=11/day=01/hour=05/a.gz": (None, utc(2026, 11, 1, 5)),
        "cloudfront/2026/11/01/05/a.gz": (None, utc(2026, 11, 1, 5)),  # lowercase: a static folder
    }
    for key, (distribution, hour) in cases.items():
        partition = partition_of(key)
        assert (partition.distribution, partition.hour) == (distribution, hour), key


def test_folders_that_are_not_a_partition_or_not_a_date_say_nothing():
    for key in ("cf/E2ABC.2026-11-01-05.a.gz", "cf/E2ABC/2026/11/01/a.gz", "cf/E2ABC/2026/13/01/05/a.gz",
                "cf/E2ABC/2026/02/30/05/a.gz", "cf/E2ABC/2026/11/01/24/a.gz", "cf/E2ABC/2026/11/01/05/",
                "year=2026/month=11/day=01/a.gz", "x", ""):  # fmt: skip
        assert partition_of(key) is None, key


def test_the_file_name_wins_and_the_path_fills_in():
    named = SourceObject("s3://b/cf/E9OTHER/2026/11/01/05/E2ABC.2026-11-01-04.u.gz", 1)
    assert (named.distribution_id, named.hour) == ("E2ABC", utc(2026, 11, 1, 4))
    unnamed = SourceObject("s3://b/cf/distributionid=E2ABC/year=2026/month=11/day=01/hour=05/part-0.parquet", 1)
    assert (unnamed.distribution_id, unnamed.hour) == ("E2ABC", utc(2026, 11, 1, 5))
    local = SourceObject("file:///srv/logs/E2ABC/2026/11/01/05/part-0.parquet", 1)
    assert (local.distribution_id, local.hour) == ("E2ABC", utc(2026, 11, 1, 5))


def test_layout_is_read_from_a_key_relative_to_the_source_prefix():
    assert layout_of("E2ABC/2026/11/01/05/a.gz") == PLAIN
    assert layout_of("2026/11/01/05/a.gz") == Layout(hive=False, by_distribution=False)
    spelled = layout_of("DistributionId=E2ABC/year=2026/month=11/day=01/hour=05/a.gz")
    assert spelled.hive and spelled.by_distribution and spelled.keys[0] == "DistributionId"
    assert spelled.distribution_folder("E1") == "DistributionId=E1/"
    # Legacy flat names, static folders before the partition, and non-dates are not layouts.
    for relative in ("E2ABC.2026-11-01-05.a.gz", "AWSLogs/123/CloudFront/E2ABC/2026/11/01/05/a.gz",
                     "cloudfront/2026/11/01/05/a.gz", "E2ABC/2026/11/31/05/a.gz", "E2ABC/2026/11/01/a.gz"):  # fmt: skip
        assert layout_of(relative) is None, relative


def test_a_window_lists_its_hours_and_whole_days_as_one_prefix():
    window = Window.of("E2ABC", "2026-11-01T22:00", "2026-11-03T01:30")
    assert window.partition_prefixes("cf/", PLAIN) == [
        "cf/E2ABC/2026/11/01/22/", "cf/E2ABC/2026/11/01/23/", "cf/E2ABC/2026/11/02/",
        "cf/E2ABC/2026/11/03/00/", "cf/E2ABC/2026/11/03/01/",
    ]  # fmt: skip
    assert window.partition_prefixes("cf/", HIVE)[:3] == [
        "cf/distributionid=E2ABC/year=2026/month=11/day=01/hour=22/",
        "cf/distributionid=E2ABC/year=2026/month=11/day=01/hour=23/",
        "cf/distributionid=E2ABC/year=2026/month=11/day=02/",
    ]


def test_without_since_a_distribution_lists_its_folder_and_without_one_everything():
    assert Window.of("E2ABC").partition_prefixes("cf/", PLAIN) == ["cf/E2ABC/"]
    assert Window.of("E2ABC", None, "2026-11-02").partition_prefixes("cf/", HIVE) == ["cf/distributionid=E2ABC/"]
    assert Window.of(None, None, "2026-11-02").partition_prefixes("cf/", PLAIN) == ["cf/"]
    # No distribution level: the distribution cannot narrow the listing, only the hours can.
    flat = Layout(hive=False, by_distribution=False)
    assert Window.of("E2ABC", "2026-11-01T05:00", "2026-11-01T06:00").partition_prefixes("cf/E2ABC/", flat) == [
        "cf/E2ABC/2026/11/01/05/"
    ]


def test_without_a_distribution_every_distribution_folder_gets_the_hours():
    window = Window.of(None, "2026-11-01T23:00", "2026-11-02T01:00")
    folders = ["cf/E1AAA/", "cf/E2BBB/"]
    assert window.partition_prefixes("cf/", PLAIN, folders) == [
        "cf/E1AAA/2026/11/01/23/", "cf/E1AAA/2026/11/02/00/",
        "cf/E2BBB/2026/11/01/23/", "cf/E2BBB/2026/11/02/00/",
    ]  # fmt: skip
    assert window.partition_prefixes("cf/", PLAIN, None) == ["cf/"]  # folders unknown: list it all


layouts = st.one_of(
    st.builds(Layout, hive=st.just(False), by_distribution=st.booleans()),  # plain: no key names
    st.builds(Layout, hive=st.just(True), by_distribution=st.booleans(),
              keys=st.sampled_from([Layout.keys, ("DistributionId", "year", "month", "day", "hour")])),
)  # fmt: skip
hours = st.datetimes(datetime(2001, 1, 1), datetime(2099, 12, 31), timezones=st.just(timezone.utc)).map(
    lambda t: t.replace(minute=0, second=0, microsecond=0)
)
distributions = st.from_regex(r"E[A-Z0-9]{1,13}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9._-]{1,30}", fullmatch=True).filter(lambda n: n not in (".", ".."))


@settings(deadline=None)  # no timing in tests: the machine is shared
@given(layouts, distributions, hours, names)
def test_a_key_built_to_a_layout_reads_back(layout, distribution, hour, name):
    key = key_for(layout, distribution, hour, name)
    partition = partition_of(key)
    assert partition.hour == hour
    assert partition.distribution == (distribution if layout.by_distribution else None)
    read = layout_of(key[len("logs/cf/"):])
    spelled = slice(0 if layout.by_distribution else 1, None)  # no distribution level, no key to read
    assert (read.hive, read.by_distribution) == (layout.hive, layout.by_distribution)
    assert read.keys[spelled] == layout.keys[spelled]
    if layout.by_distribution:
        assert layout.is_distribution_folder(layout.distribution_folder(distribution).rstrip("/"))


@settings(deadline=None)
@given(st.text(st.sampled_from("E2AB0159/=yearmonthdayhour._")))
def test_any_key_is_read_or_refused_without_an_error(key):
    partition = partition_of(key)
    assert partition is None or partition.hour.tzinfo is timezone.utc


def covered_hours(layout: Layout, prefixes: list[str]) -> list[datetime]:
    """Every hour a list of relative prefixes holds, by reading the folders back."""
    found = []
    for prefix in prefixes:
        if partition_of(prefix + "x") is None:  # a whole day: its 24 hour folders
            folder = (lambda h: f"{layout.keys[4]}={h:02d}/") if layout.hive else (lambda h: f"{h:02d}/")
            tails = [prefix + folder(h) for h in range(24)]
        else:
            tails = [prefix]
        found += [partition_of(tail + "x").hour for tail in tails]
    return found


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([Layout(False, False), Layout(True, False)]),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 1), timezones=st.just(timezone.utc)).flatmap(
        lambda t: st.sampled_from([t, t.replace(minute=0, second=0, microsecond=0)])  # on the hour: the edges
    ),
    st.one_of(st.integers(0, 96).map(lambda n: timedelta(hours=n)), st.timedeltas(timedelta(0), timedelta(days=4))),
)  # fmt: skip
def test_the_prefixes_hold_exactly_the_hours_the_window_admits(layout, since, span):
    until = since + span
    prefixes = time_prefixes(layout, since, until)
    covered = covered_hours(layout, prefixes)
    assert len(covered) == len(set(covered))  # no hour listed twice
    window = Window(None, since, until)
    start = since.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    candidates = [start + timedelta(hours=h) for h in range(int(span.total_seconds() // 3600) + 8)]
    admitted = [h for h in candidates if window.admits(SourceObject(f"s3://b/cf/{layout.hour_prefix(h)}x.gz", 1))]
    assert sorted(covered) == admitted


def test_a_local_copy_of_a_partitioned_tree_is_filtered_by_its_folders(tmp_path):
    from netsift.ingest.sources import list_local

    for distribution in ("E1AAA", "E2BBB"):
        for hour in (4, 5, 6):
            folder = tmp_path / f"distributionid={distribution}/year=2026/month=11/day=01/hour={hour:02d}"
            folder.mkdir(parents=True)
            (folder / "part-0.gz").write_bytes(b"x")
    window = Window.of("E2BBB", "2026-11-01T05:00", "2026-11-01T06:00")
    listed = [(o.distribution_id, o.hour) for o in list_local(tmp_path, window)]
    assert listed == [("E2BBB", utc(2026, 11, 1, 5))]
