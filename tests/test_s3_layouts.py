"""v2 partitioned key layouts on S3, against moto's server over real HTTP:
the listing asks only for the window's hour prefixes, plain and Hive-style,
and distribution_id comes from the path when the file name lacks it."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.ingest.s3_clients import new_s3_client
from netsift.ingest.sources import MOVED_FOLDERS, Window, list_s3
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text

DISTRIBUTIONS = ("E1AAAAAAAAAAAA", "E2BBBBBBBBBBBB")
FIRST = datetime(2026, 11, 1, 20, tzinfo=timezone.utc)
HOURS = [FIRST + timedelta(hours=n) for n in range(30)]  # 2026-11-01 20:00 .. 2026-11-03 01:00


def plain_key(distribution: str, hour: datetime, name: str = "part-0.gz") -> str:
    return f"cf/{distribution}/{hour:%Y/%m/%d/%H}/{name}"


def hive_key(distribution: str, hour: datetime, name: str = "part-0.gz") -> str:
    return f"cf/DistributionId={distribution}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/{name}"


def body_for(key: str) -> bytes:
    """A one-request log of its own (the same content twice would load once)."""
    return gzip.compress(log_text(line(x_edge_request_id=key, cs_uri_stem="/v2")).encode())


def put_all(s3, keys) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=s3.bucket, Key=k, Body=body_for(k)), keys))


def recording_client():
    """A client of its own (the process's shared one would keep the hook),
    recording the parameters of every ListObjectsV2 it sends."""
    client = new_s3_client()
    calls: list[dict] = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: calls.append({k: params.get(k) for k in ("Prefix", "Delimiter", "MaxKeys")}),
    )
    return client, calls


def listed_keys(client, bucket: str, source: str, window: Window) -> list[str]:
    return sorted(o.uri.removeprefix(f"s3://{bucket}/") for o in list_s3(client, source, window))


def test_plain_layout_lists_only_the_requested_hours_of_one_distribution(s3):
    put_all(s3, [plain_key(d, h) for d in DISTRIBUTIONS for h in HOURS])
    client, calls = recording_client()
    window = Window.of(DISTRIBUTIONS[0], "2026-11-01T23:00", "2026-11-03T01:00")
    listed = listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", window)
    wanted = HOURS[3:29]  # 2026-11-01 23:00 up to, not including, 2026-11-03 01:00
    assert wanted[0].hour == 23 and wanted[-1] == datetime(2026, 11, 3, 0, tzinfo=timezone.utc)
    assert listed == sorted(plain_key(DISTRIBUTIONS[0], h) for h in wanted)
    assert [c["Prefix"] for c in calls] == [
        "cf/", f"cf/{DISTRIBUTIONS[0]}/",  # the layout probe: the top folders, one key under the first
        f"cf/{DISTRIBUTIONS[0]}/2026/11/01/23/",
        f"cf/{DISTRIBUTIONS[0]}/2026/11/02/",  # a whole day is one prefix
        f"cf/{DISTRIBUTIONS[0]}/2026/11/03/00/",
    ]
    assert calls[0]["Delimiter"] == "/" and calls[1]["MaxKeys"] == 10  # neither lists the tree


def test_hive_layout_loads_only_the_window_with_the_distribution_from_the_path(s3, db):
    put_all(s3, [hive_key(d, h) for d in DISTRIBUTIONS for h in HOURS])
    client, calls = recording_client()
    window = Window.of(None, "2026-11-02T22:00", "2026-11-03T00:00")  # no distribution: each one's hours
    objects = list(list_s3(client, f"s3://{s3.bucket}/cf", window))
    assert [c["Prefix"] for c in calls] == [
        "cf/", f"cf/DistributionId={DISTRIBUTIONS[0]}/",
        *(f"cf/DistributionId={d}/year=2026/month=11/day=02/hour={h}/" for d in DISTRIBUTIONS for h in (22, 23)),
    ]
    assert all(o.name == "part-0.gz" for o in objects)  # the name carries neither distribution nor hour
    engine, settings = engine_for(db), Settings(database_url=db)
    results = [load_object(engine, o, settings, client) for o in objects]
    assert [r.status for r in results] == ["loaded"] * 4
    with engine.connect() as conn:
        loaded = conn.execute(text(
            "SELECT r.distribution_id, o.uri FROM cloudfront_requests r "
            "JOIN source_objects o ON o.id = r.source_object_id ORDER BY o.uri"
        )).all()  # fmt: skip
    assert loaded == [
        (d, f"s3://{s3.bucket}/{hive_key(d, datetime(2026, 11, 2, h, tzinfo=timezone.utc))}")
        for d in DISTRIBUTIONS for h in (22, 23)
    ]  # fmt: skip


def test_a_prefix_that_names_the_distribution_lists_its_hours(s3):
    put_all(s3, [plain_key(d, h) for d in DISTRIBUTIONS for h in HOURS])
    client, calls = recording_client()
    window = Window.of(None, "2026-11-03T00:00", "2026-11-03T00:30")
    objects = list(list_s3(client, f"s3://{s3.bucket}/cf/{DISTRIBUTIONS[1]}/", window))
    assert [(o.distribution_id, o.hour) for o in objects] == [(DISTRIBUTIONS[1], HOURS[28])]
    assert [c["Prefix"] for c in calls][2:] == [f"cf/{DISTRIBUTIONS[1]}/2026/11/03/00/"]


def test_without_dates_a_distribution_lists_its_folder_and_nothing_narrows_nothing(s3):
    put_all(s3, [hive_key(d, h) for d in DISTRIBUTIONS for h in HOURS[:3]])
    client, calls = recording_client()
    only = listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", Window.of(DISTRIBUTIONS[1]))
    assert only == sorted(hive_key(DISTRIBUTIONS[1], h) for h in HOURS[:3])
    assert calls[-1]["Prefix"] == f"cf/DistributionId={DISTRIBUTIONS[1]}/"
    calls.clear()
    everything = listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", Window.of())
    assert len(everything) == 6
    assert [(c["Prefix"], c["Delimiter"]) for c in calls] == [("cf/", None)]  # as before: no probe


def test_anything_beside_the_partitions_means_legacy_names_and_each_folder_read_the_same_way(s3):
    """A file at the top (or a folder of another shape) is not a v2 layout: the
    listing falls back to legacy names, whose skip scan (test_s3_skip_scan.py)
    hands the folder back; the folder is probed in turn, found partitioned,
    and listed by the window's hour, so nothing in the window is missed and
    its other hours are not listed."""
    put_all(s3, [plain_key(DISTRIBUTIONS[0], h) for h in HOURS[:3]] + ["cf/README.txt"])
    client, calls = recording_client()
    window = Window.of(None, "2026-11-01T21:00", "2026-11-01T22:00")
    assert listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", window) == [plain_key(DISTRIBUTIONS[0], HOURS[1])]
    assert [c["Prefix"] for c in calls] == [
        "cf/",  # the probe
        "cf/",  # the scan's first key is in a folder: the folder is read the same way
        f"cf/{DISTRIBUTIONS[0]}/", f"cf/{DISTRIBUTIONS[0]}/2026/",  # its probe: year folders, a plain layout
        f"cf/{DISTRIBUTIONS[0]}/2026/11/01/21/",  # so the window's one hour
        "cf/", "cf/README.2026-11-01-",  # then `README.` begins like a distribution's names: its day
        "cf/",  # and nothing after it
    ]


def test_a_legacy_flat_layout_is_listed_by_name_as_before(s3, pg):
    legacy = [f"cf/{d}.{h:%Y-%m-%d-%H}.u.gz" for d in DISTRIBUTIONS for h in HOURS]
    put_all(s3, legacy)
    client, calls = recording_client()
    window = Window.of(DISTRIBUTIONS[0], "2026-11-02", "2026-11-02")
    objects = list(list_s3(client, f"s3://{s3.bucket}/cf", window))
    assert sorted(o.name for o in objects) == sorted(
        f"{DISTRIBUTIONS[0]}.2026-11-02-{h:02d}.u.gz" for h in range(24)
    )
    # the probe, one key's request for each spelling of a v2 folder of the distribution, the day
    assert [c["Prefix"] for c in calls] == ["cf/", *(f"cf/{key}{DISTRIBUTIONS[0]}/" for key in MOVED_FOLDERS),
                                            f"cf/{DISTRIBUTIONS[0]}.2026-11-02-"]  # fmt: skip
    result = load_object(engine_for(pg), objects[0], Settings(database_url=pg), client)
    assert result.status == "loaded"
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT distribution_id FROM cloudfront_requests")).scalar() == DISTRIBUTIONS[0]


def test_more_top_folders_than_the_probes_short_page_still_read_as_one_layout(s3):
    """The probe's first page is short (PROBE_KEYS): a legacy prefix shows its
    files in it at once; 60 distribution folders need its second, full page,
    and a file after them still means legacy names."""
    from netsift.ingest.sources import PROBE_KEYS

    many = [f"E{n:02d}AAAAAAAAAAAA" for n in range(60)]
    assert len(many) > PROBE_KEYS
    put_all(s3, [plain_key(d, HOURS[1]) for d in many])
    client, calls = recording_client()
    window = Window.of(None, "2026-11-01T21:00", "2026-11-01T22:00")
    assert listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", window) == sorted(plain_key(d, HOURS[1]) for d in many)
    probes = [c for c in calls if c["Prefix"] == "cf/" and c["Delimiter"] == "/"]
    assert [c["MaxKeys"] for c in probes] == [PROBE_KEYS, 1000]
    assert [c["Prefix"] for c in calls if c["Delimiter"] is None][1:] == [f"cf/{d}/2026/11/01/21/" for d in many]

    put_all(s3, ["cf/zz-notes.txt"])  # a file after the folders: not a v2 layout
    client, calls = recording_client()
    listed = listed_keys(client, s3.bucket, f"s3://{s3.bucket}/cf/", window)
    assert listed == sorted(plain_key(d, HOURS[1]) for d in many)  # filtered by path, nothing missed
    assert [c["MaxKeys"] for c in calls[:2]] == [PROBE_KEYS, 1000]
