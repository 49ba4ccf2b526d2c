"""The first packet's time, read from a capture's framing before tshark runs:
the day a load makes ahead of dissection (netsift/capture/load.py), so a
capture of a new day is dissected once. pcapng keeps its time units in its
interface blocks; these captures say what tshark says, and odd or cut files
give no hint rather than a wrong one."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from netsift.capture.pcapfile import first_packet_time

DATA = Path(__file__).parent / "data"


def tshark_first_time(path: Path) -> float:
    """The first frame's time as tshark reads it (a simple packet block has none)."""
    done = subprocess.run(["tshark", "-r", str(path), "-c", "5", "-T", "fields", "-e", "frame.time_epoch"],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return float(next(line for line in done.stdout.split() if line))


@pytest.mark.parametrize("name", ["zeek/tcp/http-on-irc-port-missing-syn.pcapng",  # microseconds
                                  "zeek/pcapng-multi-interface.pcapng"])  # nanoseconds, two interfaces
def test_real_pcapng_captures_give_tsharks_first_frame_time(name):
    path = DATA / name
    assert first_packet_time(path) == pytest.approx(tshark_first_time(path), abs=1e-6)


def block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


SECTION = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def interface(*options: bytes) -> bytes:
    return block(1, struct.pack("<HHI", 1, 0, 65535) + b"".join(options) + (option(0, b"") if options else b""))


def enhanced(interface_id: int, units: int, packet: bytes = b"\0" * 60) -> bytes:
    return block(6, struct.pack("<IIIII", interface_id, units >> 32, units & 0xFFFFFFFF, len(packet), len(packet))
                 + packet)  # fmt: skip


def simple(packet: bytes = b"\0" * 60) -> bytes:
    return block(3, struct.pack("<I", len(packet)) + packet)


def written(tmp_path: Path, *blocks: bytes) -> Path:
    path = tmp_path / "capture.pcapng"
    path.write_bytes(b"".join(blocks))
    return path


def test_binary_resolution_and_offset_are_applied_and_untimed_blocks_passed(tmp_path):
    # 2^-10 s units, 1,000,000,000 s offset; a simple packet block (no time) comes first.
    clock = interface(option(9, bytes([0x80 | 10])), option(14, struct.pack("<q", 1_000_000_000)))
    path = written(tmp_path, SECTION, clock, simple(), enhanced(0, 1_700_000_000 * 1024 + 512))
    assert first_packet_time(path) == 1_700_000_000.5 + 1_000_000_000
    assert first_packet_time(path) == pytest.approx(tshark_first_time(path), abs=1e-6)


def test_each_packet_reads_its_own_interfaces_units(tmp_path):
    micro, nano = interface(), interface(option(9, bytes([9])))
    path = written(tmp_path, SECTION, micro, nano, enhanced(1, 1_600_000_000_250_000_000))
    assert first_packet_time(path) == pytest.approx(1_600_000_000.25)


@pytest.mark.parametrize("blocks", [
    (SECTION, enhanced(0, 1)),  # a packet on an interface never described
    (SECTION, interface(), enhanced(0, 1_700_000_000_000_000)[:-8]),  # cut inside the first packet
    (SECTION, interface()),  # no packet at all
    (SECTION, interface(), struct.pack("<II", 6, 13)),  # a block of impossible length
    (SECTION[:10],),  # cut inside the section header
])  # fmt: skip
def test_odd_or_cut_captures_give_no_hint(tmp_path, blocks):
    assert first_packet_time(written(tmp_path, *blocks)) is None


def test_a_first_packet_beyond_the_first_blocks_is_not_looked_for(tmp_path):
    path = written(tmp_path, SECTION, interface(), *[simple()] * 100, enhanced(0, 1_700_000_000_000_000))
    assert first_packet_time(path) is None
