"""CloudFront standard logging v2's partitioned S3 key layouts, as pure functions.

v2 delivery to S3 can put a suffix path after the destination prefix, built
from `{DistributionId}`, `{yyyy}`, `{MM}`, `{dd}` and `{HH}`, either plain
(`E2ABC/2026/11/01/05/`) or, with Hive-compatible paths, as `key=value`
folders (`DistributionId=E2ABC/year=2026/month=11/day=01/hour=05/`; the key
is spelled as the variable was, so `distributionid=` is as likely). Knowing
the layout lets a date window list only its hours' prefixes. Nothing here
touches S3: the listing (sources.py) probes a few keys and asks these
functions what they mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

# CloudFront distribution ids are capital letters and digits (E2ABC123...);
# the same class as in legacy file names, so a lowercase static folder
# (`cloudfront/`) is never mistaken for one.
_PLAIN_DISTRIBUTION = r"[A-Z0-9]+"
_HIVE_DISTRIBUTION = r"[A-Za-z0-9]+"

_PLAIN = re.compile(
    rf"(?:(?P<distribution>{_PLAIN_DISTRIBUTION})/)?"
    r"(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<hour>\d{2})/(?P<name>[^/]+)\Z"
)
_HIVE = re.compile(
    rf"(?:(?P<distribution_key>(?i:distributionid))=(?P<distribution>{_HIVE_DISTRIBUTION})/)?"
    r"(?P<year_key>(?i:year))=(?P<year>\d{4})/(?P<month_key>(?i:month))=(?P<month>\d{2})/"
    r"(?P<day_key>(?i:day))=(?P<day>\d{2})/(?P<hour_key>(?i:hour))=(?P<hour>\d{2})/(?P<name>[^/]+)\Z"
)


@dataclass(frozen=True)
class Partition:
    """What a key's folders say: its distribution (when a level holds it) and hour."""

    distribution: str | None
    hour: datetime


@dataclass(frozen=True)
class Layout:
    """The shape of the keys under a source prefix, with Hive keys spelled as found.

    `by_distribution`: a distribution folder comes first (`E2ABC/2026/…`);
    without it the year is the first folder (a prefix that already names one
    distribution, or a suffix path without `{DistributionId}`).
    """

    hive: bool
    by_distribution: bool
    keys: tuple[str, str, str, str, str] = ("distributionid", "year", "month", "day", "hour")

    def distribution_folder(self, distribution: str) -> str:
        return f"{self.keys[0]}={distribution}/" if self.hive else f"{distribution}/"

    def is_distribution_folder(self, segment: str) -> bool:
        """Whether a folder name (no slash) is a distribution level of this layout."""
        if self.hive:
            key, _, value = segment.partition("=")
            return key.lower() == "distributionid" and re.fullmatch(_HIVE_DISTRIBUTION, value) is not None
        return re.fullmatch(_PLAIN_DISTRIBUTION, segment) is not None

    def day_prefix(self, day: date) -> str:
        parts = (f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}")
        if self.hive:
            parts = tuple(f"{k}={v}" for k, v in zip(self.keys[1:4], parts))
        return "/".join(parts) + "/"

    def hour_prefix(self, hour: datetime) -> str:
        folder = f"{self.keys[4]}={hour.hour:02d}" if self.hive else f"{hour.hour:02d}"
        return f"{self.day_prefix(hour.date())}{folder}/"


def partition_of(key: str) -> Partition | None:
    """The distribution and hour a key's trailing folders give, or None when
    they are not a v2 partition (or not a real date)."""
    found = _match_tail(key)
    if found is None:
        return None
    match, _ = found
    return _partition(match)


def layout_of(relative_key: str) -> Layout | None:
    """The layout of a key given relative to the source prefix, when its
    partition folders start right there (nothing static in between)."""
    for hive, pattern in ((True, _HIVE), (False, _PLAIN)):
        match = pattern.match(relative_key)
        if match and _partition(match):
            by_distribution = match["distribution"] is not None
            keys = Layout.keys
            if hive:
                keys = (
                    match["distribution_key"] or "distributionid",
                    match["year_key"], match["month_key"], match["day_key"], match["hour_key"],
                )  # fmt: skip
            return Layout(hive, by_distribution, keys)
    return None


def time_prefixes(layout: Layout, since: datetime, until: datetime) -> list[str]:
    """Prefixes (relative to a distribution's folder) that hold exactly the
    hours a window admits: the hour containing `since` up to the last hour
    starting before `until`. A day wholly inside is one day prefix, not 24."""
    hour = since.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    until = until.astimezone(timezone.utc)
    prefixes = []
    while hour < until:
        day_end = hour.replace(hour=0) + timedelta(days=1)
        if hour.hour == 0 and day_end <= until:
            prefixes.append(layout.day_prefix(hour.date()))
            hour = day_end
        else:
            prefixes.append(layout.hour_prefix(hour))
            hour += timedelta(hours=1)
    return prefixes


def _match_tail(key: str):
    """The partition match over a key's last folders, and which pattern matched."""
    parts = key.split("/")
    # Five folders and the name at most; try the longest tail first so a
    # distribution level is taken when present.
    for depth in (6, 5):
        if len(parts) < depth:
            continue
        tail = "/".join(parts[-depth:])
        for hive, pattern in ((True, _HIVE), (False, _PLAIN)):
            match = pattern.fullmatch(tail)
            if match and (depth == 6) == (match["distribution"] is not None):
                return match, hive
    return None


def _partition(match) -> Partition | None:
    try:
        hour = datetime(
            int(match["year"]), int(match["month"]), int(match["day"]), int(match["hour"]),
            tzinfo=timezone.utc,
        )  # fmt: skip
    except ValueError:
        return None  # 2026/13/45/99: folders shaped like a date that is not one
    return Partition(match["distribution"], hour)
