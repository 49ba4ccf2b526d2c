"""The copied samples are byte for byte what their SOURCES.md says they are."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.conftest import DATA

ROW = re.compile(r"^\| (\S+) \| .* \| ([0-9a-f]{64}) \|$", re.M)


@pytest.mark.parametrize(
    "root, files_under",
    [(DATA / "cloudfront", "samples"), (DATA / "pcap", "."), (DATA / "zeek", "."), (DATA.parent.parent / "netsift" / "detection" / "rules" / "lists", ".")],
)
def test_every_sample_matches_its_recorded_sha256(root, files_under):
    recorded = dict(ROW.findall((root / "SOURCES.md").read_text()))
    base = root / files_under
    present = {
        str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.name != "SOURCES.md"
    }
    assert set(recorded) == present
    for name, digest in recorded.items():
        assert hashlib.sha256((base / name).read_bytes()).hexdigest() == digest, name
