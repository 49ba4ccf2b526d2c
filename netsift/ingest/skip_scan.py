"""The distributions under a legacy CloudFront prefix, found without listing their history.

An hourly run with a 26-hour look-back and no `--distribution` would
otherwise list the whole prefix, years of history, every hour. Legacy names
are `<folder><DISTRIBUTION>.YYYY-MM-DD-HH.<unique>.gz`, and S3 lists keys in
the order of their UTF-8 bytes, so each distribution's keys are one
unbroken run of keys beginning `<folder><DISTRIBUTION>.`. The scan reads the
first key after a point (MaxKeys=1), learns the run it starts, and asks
again from just past that run: one small request per distribution, however
long its history. The caller then lists only the window's days of each.

Why a jump skips exactly one run: StartAfter returns the keys strictly
after it. UTF-8 byte order is code point order, and U+10FFFF is the highest
code point, so `<run>` + U+10FFFF comes after every key of the run (save one
that itself continues with U+10FFFF) and before every key after the run (a
later key differs from `<run>` within `<run>`'s length, with a greater
character). A key the jump did not pass is met next and the scan jumps
from it again, the run not handed back twice: the next start is never
before the key just read, so every request moves forward.

What else is under the prefix is not lost: a folder (`AWSLogs/`, `old/`) is
one run too, jumped over and handed back (the caller reads it the same way,
one level down); a file that does not begin like a distribution's names
(`readme.txt`, `e2abc.…`) is handed back as read. A run of such files is
read 1,000 keys a request, not one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

# A distribution id (capital letters and digits, as CloudFront's are) and the
# dot after it, at the start of a key's name under the folder.
_DISTRIBUTION_RUN = re.compile(r"[A-Z0-9]+\.")
_HIGHEST = "\U0010ffff"
_PAGE = 1000


@dataclass(frozen=True)
class Run:
    """Keys sharing `prefix`, passed over by one jump: a distribution's legacy
    names (`distribution` set, `prefix` ends with its dot) or a folder's keys."""

    prefix: str
    distribution: str | None


def legacy_runs(client, bucket: str, folder: str) -> Iterator[Run | dict]:
    """In key order, the runs under `folder` and the other files as listed
    (ListObjectsV2 `Contents` entries)."""
    after: str | None = None
    page_size = 1
    previous: Run | None = None
    while True:
        request = {"Bucket": bucket, "Prefix": folder, "MaxKeys": page_size}
        if after is not None:
            request["StartAfter"] = after
        response = client.list_objects_v2(**request)
        contents = response.get("Contents", ())
        if not contents:
            return
        for item in contents:
            run = run_of(item["Key"], folder)
            if run is None:
                yield item
                after = item["Key"]
                continue
            if run != previous:  # else a key of the run the jump did not pass: handed back already
                yield run
            previous = run
            after = max(item["Key"], run.prefix + _HIGHEST)
            page_size = 1  # a run's next key is far away: one key is all that is wanted
            break
        else:  # a page of other files: more may follow, read them a page at a time
            if not response.get("IsTruncated"):
                return
            page_size = _PAGE


def run_of(key: str, folder: str) -> Run | None:
    """The run a key starts, or None for a file directly under the folder
    that does not begin like a distribution's names."""
    name = key[len(folder):]
    head = _DISTRIBUTION_RUN.match(name)
    if head:
        return Run(folder + head.group(0), head.group(0)[:-1])
    top, slash, _ = name.partition("/")
    return Run(folder + top + slash, None) if slash else None
