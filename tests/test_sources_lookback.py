"""Open-ended windows, as schedules use them."""

from datetime import datetime, timedelta, timezone

from netsift.ingest.sources import Window


def test_since_without_until_lists_each_day_up_to_now():
    since = datetime.now(timezone.utc) - timedelta(hours=26)
    prefixes = Window.of("E1", since).prefixes("cf/")
    days = {(since + timedelta(days=d)).date().isoformat() for d in range(3)}
    expected = [p for p in (f"cf/E1.{d}-" for d in sorted(days))]
    today = datetime.now(timezone.utc).date().isoformat()
    assert prefixes[0] == f"cf/E1.{since.date().isoformat()}-"
    assert prefixes[-1] in (f"cf/E1.{today}-", f"cf/E1.{(datetime.now(timezone.utc) + timedelta(hours=1)).date().isoformat()}-")
    assert set(prefixes) <= set(expected) | {prefixes[-1]}
    assert 2 <= len(prefixes) <= 3
