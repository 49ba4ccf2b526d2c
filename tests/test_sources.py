"""Which objects a run takes: windows, prefixes, local listing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from netsift.ingest.sources import SourceObject, Window, list_local


def obj(name: str) -> SourceObject:
    return SourceObject(uri=f"s3://b/logs/{name}", size=1)


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def test_key_name_gives_distribution_and_hour():
    o = obj("E2ABC123.2024-03-01-07.a1b2c3d4.gz")
    assert o.distribution_id == "E2ABC123" and o.hour == utc(2024, 3, 1, 7)
    assert obj("random.txt").hour is None and obj("random.txt").distribution_id is None


def test_one_prefix_per_day_when_distribution_and_dates_are_given():
    window = Window.of("E2ABC", "2024-03-01", "2024-03-03")
    assert window.prefixes("logs/cf") == [
        "logs/cf/E2ABC.2024-03-01-",
        "logs/cf/E2ABC.2024-03-02-",
        "logs/cf/E2ABC.2024-03-03-",
    ]
    assert Window.of("E2ABC", "2024-03-01", "2024-03-01").prefixes("") == ["E2ABC.2024-03-01-"]
    assert Window.of("E2ABC").prefixes("logs/") == ["logs/E2ABC."]
    assert Window.of(None, "2024-03-01").prefixes("logs") == ["logs"]


def test_until_as_a_date_includes_that_day_and_as_a_datetime_excludes_it():
    day = Window.of(None, "2024-03-01", "2024-03-01")
    assert day.admits(obj("E1.2024-03-01-23.x.gz"))
    assert not day.admits(obj("E1.2024-03-02-00.x.gz"))
    hours = Window.of(None, "2024-03-01T05:00:00", "2024-03-01T07:00:00")
    admitted = [h for h in range(24) if hours.admits(obj(f"E1.2024-03-01-{h:02d}.x.gz"))]
    assert admitted == [5, 6]


def test_distribution_filter_and_undatable_names():
    window = Window.of("E1", "2024-03-01")
    assert window.admits(obj("E1.2024-03-05-00.x.gz"))
    assert not window.admits(obj("E2.2024-03-05-00.x.gz"))
    assert not window.admits(obj("notes.txt"))
    assert Window.of().admits(obj("notes.txt"))


def test_bad_dates_are_refused():
    with pytest.raises(ValueError):
        Window.of(None, "yesterday")


def test_local_listing_is_sorted_recursive_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "E1.2024-03-01-00.x.gz").write_bytes(b"x")
    (tmp_path / "a.log").write_bytes(b"y")
    (tmp_path / ".hidden").write_bytes(b"z")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_bytes(b"z")
    names = [o.name for o in list_local(tmp_path, Window.of())]
    assert names == ["a.log", "E1.2024-03-01-00.x.gz"]
    assert [o.name for o in list_local(tmp_path / "a.log", Window.of())] == ["a.log"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(list_local(tmp_path / "missing", Window.of()))
