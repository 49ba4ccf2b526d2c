"""Where objects come from: an S3 prefix or a local file or folder.

Listing is narrowed by CloudFront's key naming
`<prefix>/<DISTRIBUTION_ID>.YYYY-MM-DD-HH.<unique>.gz`, or by the folders of
standard logging v2's partitioned layouts (layouts.py), so asking for one
distribution's day costs list requests in proportion to that day's files,
not to the size of the bucket; a window without a distribution costs about
one request more for each distribution found (skip_scan.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlparse

from netsift.ingest.layouts import Layout, layout_of, partition_of, time_prefixes
from netsift.ingest.s3_clients import s3_client
from netsift.ingest.skip_scan import Run, legacy_runs

_KEY_NAME = re.compile(
    r"(?P<distribution>[A-Z0-9]+)\.(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2})\.[^/]*\Z"
)


@dataclass(frozen=True)
class SourceObject:
    """One unit of exactly-once loading: an S3 object or a local file."""

    uri: str
    size: int
    etag: str | None = None  # S3's; a local file's sha256 is computed when loaded
    last_modified: datetime | None = None

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def partition_path(self) -> str:
        """What v2 partition folders are read from: the S3 URI as is (built
        from the raw key), a file URI's path unquoted (`as_uri` quotes `=`)."""
        return unquote(urlparse(self.uri).path) if self.uri.startswith("file:") else self.uri

    @property
    def distribution_id(self) -> str | None:
        """From the file name, else from a v2 partition folder (`E2ABC/2026/…`,
        `distributionid=E2ABC/year=2026/…`)."""
        match = _KEY_NAME.search(self.name)
        if match:
            return match["distribution"]
        partition = partition_of(self.partition_path)
        return partition.distribution if partition else None

    @property
    def hour(self) -> datetime | None:
        """The hour CloudFront filed the object under (when its requests occurred):
        from the file name, else from a v2 partition's folders."""
        match = _KEY_NAME.search(self.name)
        if not match:
            partition = partition_of(self.partition_path)
            return partition.hour if partition else None
        return datetime.strptime(match["stamp"], "%Y-%m-%d-%H").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Window:
    """Which objects a run wants, by distribution and by the hour in their name.

    `since` is inclusive; `until` is exclusive, and a bare date for `until`
    means the whole of that day.
    """

    distribution: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(cls, distribution=None, since=None, until=None) -> "Window":
        return cls(distribution or None, _as_start(since), _as_end(until))

    @property
    def narrows(self) -> bool:
        return bool(self.distribution or self.since or self.until)

    def admits(self, obj: SourceObject) -> bool:
        if not self.narrows:
            return True
        if self.distribution and obj.distribution_id != self.distribution:
            return False
        hour = obj.hour
        if self.since or self.until:
            if hour is None:
                return False  # cannot be dated by name, so it cannot be in a date window
            if self.since and hour + timedelta(hours=1) <= self.since:
                return False
            if self.until and hour >= self.until:
                return False
        return True

    def prefixes(self, prefix: str) -> list[str]:
        """S3 prefixes to list for legacy flat names: one per day when
        distribution and dates allow."""
        folder = _folder(prefix)
        if not self.distribution:
            return [prefix]
        if not self.since:
            return [f"{folder}{self.distribution}."]
        until = self.until or _next_hour()
        days, day = [], self.since.date()
        while datetime.combine(day, datetime.min.time(), timezone.utc) < until:
            days.append(f"{folder}{self.distribution}.{day.isoformat()}-")
            day += timedelta(days=1)
        return days

    def partition_prefixes(
        self, folder: str, layout: Layout, distribution_folders: list[str] | None = None
    ) -> list[str]:
        """S3 prefixes to list for a v2 partitioned layout under `folder`.

        With `since`, only the window's hours (whole days as one prefix) under
        each distribution's folder: the one asked for, or else every one in
        `distribution_folders` (full prefixes, as listed). Without `since`
        there is no first hour to count from, so the distribution's folder
        (or the whole folder) is listed and `admits` does the rest.
        """
        if not layout.by_distribution:
            roots = [folder]
        elif self.distribution:
            roots = [folder + layout.distribution_folder(self.distribution)]
        elif self.since and distribution_folders is not None:
            roots = distribution_folders
        else:
            return [folder]  # no one distribution and no folders to count hours under
        if not self.since:
            return roots
        until = self.until or _next_hour()
        return [root + hours for root in roots for hours in time_prefixes(layout, self.since, until)]


def _next_hour() -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=1)


def _folder(prefix: str) -> str:
    return prefix if (not prefix or prefix.endswith("/")) else prefix + "/"


def _as_start(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _as_end(value) -> datetime | None:
    start = _as_start(value)
    if start is None:
        return None
    is_bare_date = (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and "T" not in value and " " not in value
    )
    return start + timedelta(days=1) if is_bare_date else start


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def list_s3(client, uri: str, window: Window, page_size: int = 1000) -> Iterator[SourceObject]:
    """Objects under an s3:// URI through the list_objects_v2 paginator."""
    bucket, prefix = parse_s3_uri(uri)
    paginator = client.get_paginator("list_objects_v2")
    for target in listing_targets(client, bucket, prefix, window):
        if isinstance(target, dict):
            items: Iterable[dict] = (target,)
        else:
            config = {"PageSize": page_size}
            pages = paginator.paginate(Bucket=bucket, Prefix=target, PaginationConfig=config)
            items = (item for page in pages for item in page.get("Contents", ()))
        for item in items:
            if item["Key"].endswith("/"):
                continue  # a folder marker, not an object
            obj = SourceObject(
                uri=f"s3://{bucket}/{item['Key']}",
                size=item["Size"],
                etag=item["ETag"].strip('"'),
                last_modified=item.get("LastModified"),
            )
            if window.admits(obj):
                yield obj


# Where a named distribution's v2 folder may sit beside its legacy names:
# plain, then Hive's key as CloudFront writes it and in lower case.
MOVED_FOLDERS = ("", "DistributionId=", "distributionid=")
# Folders deep under the source are listed whole past this depth: each level
# read the same way costs a probe and a scan, and keys may nest 500 deep.
FOLDER_DEPTH = 4


def listing_targets(client, bucket: str, prefix: str, window: Window, depth: int = 0) -> Iterator[str | dict]:
    """The prefixes a window needs listed under `prefix`, in key order, and
    any objects already read on the way (ListObjectsV2 `Contents` entries).

    Without a window, the prefix itself, and no request is spent. With one,
    the layout is read from the keys (one or two small requests, see
    `partitioned_layout`): a v2 partitioned layout lists only the window's
    hours; anything else is taken for legacy flat names. With a first day
    and no distribution, those are found by a skip scan (skip_scan.py) and
    each one's days listed, as if it had been named; each folder the scan
    meets is read the same way.
    """
    if not window.narrows:
        yield prefix
        return
    folder = _folder(prefix)
    layout, folders = partitioned_layout(client, bucket, folder)
    if layout is not None:
        if layout.by_distribution and window.since and not window.distribution and folders is None:
            folders = list(_subfolders(client, bucket, folder))
        yield from window.partition_prefixes(folder, layout, folders)
    elif window.since and not window.distribution:
        days = replace(window, until=window.until or _next_hour())  # one end for every distribution
        for found in legacy_runs(client, bucket, folder):
            if isinstance(found, Run) and found.distribution:
                yield from replace(days, distribution=found.distribution).prefixes(folder)
            elif isinstance(found, Run) and depth < FOLDER_DEPTH:
                # A folder among the legacy names (a distribution moved to v2's
                # partitions, AWSLogs/…) is read the same way, one level down,
                # rather than listed whole with all its history.
                yield from listing_targets(client, bucket, found.prefix, days, depth + 1)
            elif isinstance(found, Run):
                yield found.prefix
            else:
                yield found
    else:
        # The named distribution may have moved to v2's partitions beside its
        # legacy names (`cf/E2ABC123/2026/…`, or Hive's `DistributionId=E2ABC123/`
        # as CloudFront spells the key, or in lower case): a request of one key
        # per spelling says so, and a folder found is read by the window, in
        # key order among the legacy days.
        candidates = [f"{folder}{key}{window.distribution}/" for key in MOVED_FOLDERS] if window.distribution else []
        moved = {c for c in candidates if client.list_objects_v2(Bucket=bucket, Prefix=c, MaxKeys=1).get("KeyCount")}
        for target in sorted([*window.prefixes(prefix), *moved]):
            if target in moved:
                yield from listing_targets(client, bucket, target, window, depth + 1)
            else:
                yield target


# The probe's first page: a legacy prefix answers with files at once, so a
# short page spares a scheduled run the first 1,000 of its keys every hour;
# a v2 layout's few top folders (years, distributions) fit in it.
PROBE_KEYS = 50


def partitioned_layout(client, bucket: str, folder: str) -> tuple[Layout | None, list[str] | None]:
    """The v2 layout under `folder`, with its top folders when one page held them all.

    One delimiter listing shows what sits directly under the folder: any
    object there (a legacy flat name, a stray README) means this is not a
    partitioned layout, and the folder is listed as before. Otherwise the
    first key under the first folder shows the whole shape (plain or Hive,
    the key names as spelled, a distribution level or not), and every other
    top folder must be of that same kind.
    """
    top = client.list_objects_v2(Bucket=bucket, Prefix=folder, Delimiter="/", MaxKeys=PROBE_KEYS)
    if any(not item["Key"].endswith("/") for item in top.get("Contents", ())):
        return None, None
    if top.get("IsTruncated"):  # more folders than one short page: the rest, files included, decide
        top = client.list_objects_v2(Bucket=bucket, Prefix=folder, Delimiter="/", MaxKeys=1000)
        if any(not item["Key"].endswith("/") for item in top.get("Contents", ())):
            return None, None
    folders = [p["Prefix"] for p in top.get("CommonPrefixes", ())]
    if not folders:
        return None, None
    first = client.list_objects_v2(Bucket=bucket, Prefix=folders[0], MaxKeys=10)
    keys = [item["Key"] for item in first.get("Contents", ()) if not item["Key"].endswith("/")]
    layout = layout_of(keys[0][len(folder):]) if keys else None
    if layout is None:
        return None, None
    segments = [f[len(folder):].rstrip("/") for f in folders]
    if layout.by_distribution:
        same_kind = all(layout.is_distribution_folder(s) for s in segments)
    else:
        year = f"{layout.keys[1]}=" if layout.hive else ""
        same_kind = all(re.fullmatch(re.escape(year) + r"\d{4}", s) for s in segments)
    if not same_kind:
        return None, None
    return layout, (None if top.get("IsTruncated") else folders)


def _subfolders(client, bucket: str, folder: str) -> Iterator[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder, Delimiter="/")
    for page in pages:
        for common in page.get("CommonPrefixes", ()):
            yield common["Prefix"]


def list_local(path: str | os.PathLike, window: Window) -> Iterator[SourceObject]:
    """Regular files under a path, in name order; hidden files are skipped."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    files: Iterable[Path] = [root] if root.is_file() else sorted(root.rglob("*"))
    for file in files:
        hidden = file != root and any(p.startswith(".") for p in file.relative_to(root).parts)
        if hidden or not file.is_file():
            continue
        stat = file.stat()
        obj = SourceObject(
            uri=file.resolve().as_uri(),
            size=stat.st_size,
            last_modified=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
        )
        if window.admits(obj):
            yield obj


def list_objects(source: str, window: Window, client=None) -> list[SourceObject]:
    """Objects under an s3:// URI or a local path; an S3 client is made from
    boto3's chain when none is given."""
    if source.startswith("s3://"):
        return list(list_s3(client or s3_client(), source, window))
    return list(list_local(source, window))


def local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"not a file:// URI: {uri!r}")
    from urllib.request import url2pathname

    return Path(url2pathname(parsed.path))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_body(obj: SourceObject, client=None):
    """A readable binary stream of the object's bytes as stored."""
    if obj.uri.startswith("s3://"):
        bucket, key = parse_s3_uri(obj.uri)
        kwargs = {"IfMatch": f'"{obj.etag}"'} if obj.etag else {}
        return (client or s3_client()).get_object(Bucket=bucket, Key=key, **kwargs)["Body"]
    return local_path(obj.uri).open("rb")


def identity_of(obj: SourceObject) -> str:
    """What makes this version of the object: S3's ETag, or a local file's sha256."""
    return obj.etag if obj.etag else sha256_of(local_path(obj.uri))
