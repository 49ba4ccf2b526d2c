"""Sessions tshark folds together (the same ports and sequence numbers, hours
apart) are dissected in one extra tshark pass however often they repeat,
with the rows the old pass per repeat gave; the framings it rewrites, and
the per-repeat passes kept for those it cannot."""

from __future__ import annotations

import ipaddress
import random
import struct
from pathlib import Path

import pytest

from bench.pcap_gen import write_repeated_sessions
from netsift.capture import dissect as dissect_module
from netsift.capture import readdress
from netsift.capture.readdress import SyntheticAddresses, ones_sum
from tests.test_capture_sessions import repeated_session, rows_of


@pytest.fixture
def tshark_runs(monkeypatch) -> list[list[str]]:
    """Every tshark invocation's arguments, counted at dissect's one seam."""
    runs: list[list[str]] = []
    real = dissect_module.tshark_lines

    def counted(capture, args, run, **kwargs):
        runs.append(list(args))
        return real(capture, args, run, **kwargs)

    monkeypatch.setattr(dissect_module, "tshark_lines", counted)
    return runs


def per_repeat_rows(path: Path, monkeypatch) -> tuple[dict[str, list[tuple]], str | None]:
    """The rows of the per-repeat passes: no frame is rewritten, so every
    replay falls back to the pass of its fold, as all did before."""
    with monkeypatch.context() as patch:
        patch.setattr(readdress, "ip_offset", lambda link_type, packet: None)
        return rows_of(path)


def sorted_tables(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}


MAIN_AND_BODIES = 2  # the main pass and its body pass: one pair per pass


@pytest.mark.slow
def test_a_session_repeated_200_times_loads_fully_in_one_extra_pass(tmp_path, tshark_runs):
    path = tmp_path / "repeat200.pcap"
    repeated_session(path, times=200, gap=7200)
    tables, partial = rows_of(path)
    assert partial is None  # 199 replays: past the old limit of 64 passes
    assert len([r for r in tables["connections"] if r[4] == 40000]) == 200
    http = [r for r in tables["http_requests"] if r[4] == 40000]
    assert len(http) == 200 and {r[12] for r in http} == {200}
    assert sorted(r[9] for r in http) == sorted(f"/beacon?n={i:02d}" for i in range(200))
    assert len(tshark_runs) == 2 * MAIN_AND_BODIES


@pytest.mark.slow
def test_the_number_of_tshark_runs_does_not_grow_with_the_repeats(tmp_path, tshark_runs):
    counts = []
    for times in (2, 12, 40):
        path = tmp_path / f"repeat{times}.pcap"
        repeated_session(path, times=times, gap=7200)
        before = len(tshark_runs)
        rows_of(path)
        counts.append(len(tshark_runs) - before)
    assert counts == [2 * MAIN_AND_BODIES] * 3


def test_no_repeats_no_extra_pass(tmp_path, tshark_runs):
    path = tmp_path / "once.pcap"
    repeated_session(path, times=1, gap=7200)
    tables, partial = rows_of(path)
    assert partial is None and len(tables["http_requests"]) == 2
    assert len(tshark_runs) == MAIN_AND_BODIES


@pytest.mark.slow
def test_the_red_team_capture_loads_every_session_in_one_extra_pass(tmp_path, tshark_runs):
    path = tmp_path / "redteam.pcap"
    assert write_repeated_sessions(path, flows=92, times=60, gap=7200) == 55_200
    tables, partial = rows_of(path)
    assert partial is None
    assert (len(tables["connections"]), len(tables["http_requests"])) == (5_520, 5_520)
    assert len({r[2] for r in tables["connections"]}) == 5_520  # one uid each
    # every request on the connection of its own hour, with its own answer
    conn_ts = {r[2]: r[1] for r in tables["connections"]}
    for row in tables["http_requests"]:
        repeat = int(row[9].rsplit("=", 1)[1])
        assert (conn_ts[row[2]] - min(conn_ts.values())).total_seconds() // 7200 == repeat
        assert (row[12], row[15]) == (200, 2000)
    assert len(tshark_runs) == 2 * MAIN_AND_BODIES


@pytest.mark.slow
def test_rows_are_those_of_the_per_repeat_passes(tmp_path, monkeypatch, tshark_runs):
    path = tmp_path / "redteam-small.pcap"
    write_repeated_sessions(path, flows=30, times=6, gap=7200)
    one_pass, partial = rows_of(path)
    assert partial is None and len(tshark_runs) == 2 * MAIN_AND_BODIES
    per_repeat, partial_per_repeat = per_repeat_rows(path, monkeypatch)
    assert partial_per_repeat is None
    assert len(tshark_runs) > 4 * MAIN_AND_BODIES  # the fallback did run, a pass per repeat
    assert sorted_tables(one_pass) == sorted_tables(per_repeat)
    assert len(one_pass["http_requests"]) == 180


# Framings: the repeated session rewritten record by record into another link type.


def _records(path: Path):
    data = path.read_bytes()
    offset = 24
    while offset < len(data):
        seconds, micros, captured, length = struct.unpack("<IIII", data[offset : offset + 16])
        yield seconds, micros, data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured


def _ipv6_of(ip: bytes) -> bytes:
    """An IPv4 packet as IPv6, addresses 2001:db8::a.b.c.d (TCP checksums are 0 here)."""
    header_len = (ip[0] & 0x0F) * 4
    payload = ip[header_len:]
    src, dst = (b"\x20\x01\x0d\xb8" + bytes(8) + ip[i : i + 4] for i in (12, 16))
    return struct.pack("!IHBB", 6 << 28, len(payload), 6, 64) + src + dst + payload


def _rewrap(source: Path, target: Path, link_type: int, frame) -> Path:
    with target.open("wb") as sink:
        sink.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link_type))
        for seconds, micros, data in _records(source):
            out = frame(data[:14], data[14:])
            sink.write(struct.pack("<IIII", seconds, micros, len(out), len(out)) + out)
    return target


def _pcapng(source: Path, target: Path) -> Path:
    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    with target.open("wb") as sink:
        sink.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        sink.write(block(1, struct.pack("<HHI", 147, 0, 65535)))  # an interface of a type not read
        sink.write(block(1, struct.pack("<HHI", 1, 0, 65535)))  # Ethernet, the packets' own
        for seconds, micros, data in _records(source):
            stamp = seconds * 1_000_000 + micros
            sink.write(block(6, struct.pack("<IIIII", 1, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data)) + data))
    return target


ETH_IPV6 = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x86\xdd"
FRAMINGS = {
    "vlan": lambda path, out: _rewrap(path, out, 1, lambda eth, ip: eth[:12] + b"\x81\x00\x00\x07" + eth[12:] + ip),
    "qinq": lambda path, out: _rewrap(
        path, out, 1, lambda eth, ip: eth[:12] + b"\x88\xa8\x00\x64\x81\x00\x00\x07" + eth[12:] + ip
    ),
    "ipv6": lambda path, out: _rewrap(path, out, 1, lambda eth, ip: ETH_IPV6 + _ipv6_of(ip)),
    "raw": lambda path, out: _rewrap(path, out, 101, lambda eth, ip: ip),
    "raw-ipv6": lambda path, out: _rewrap(path, out, 101, lambda eth, ip: _ipv6_of(ip)),
    "bsd-loopback": lambda path, out: _rewrap(path, out, 0, lambda eth, ip: struct.pack("<I", 2) + ip),
    "linux-sll": lambda path, out: _rewrap(
        path, out, 113, lambda eth, ip: struct.pack("!HHH8sH", 0, 1, 6, eth[6:12] + b"\0\0", 0x0800) + ip
    ),
    "linux-sll2": lambda path, out: _rewrap(
        path, out, 276, lambda eth, ip: struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, eth[6:12] + b"\0\0") + ip
    ),
    "pcapng": lambda path, out: _pcapng(path, out),
}  # fmt: skip


# Three framings in the fast tier (a tag, IPv6, pcapng's blocks); the rest with `make test`.
FAST_FRAMINGS = {"vlan"}


@pytest.mark.parametrize("framing", [
    pytest.param(name, marks=() if name in FAST_FRAMINGS else pytest.mark.slow) for name in sorted(FRAMINGS)
])
def test_framings_rewritten_in_one_pass_give_the_per_repeat_rows(framing, tmp_path, monkeypatch, tshark_runs):
    plain = tmp_path / "plain.pcap"
    repeated_session(plain, times=3, gap=7200)
    path = FRAMINGS[framing](plain, tmp_path / f"{framing}.cap")
    one_pass, partial = rows_of(path)
    assert partial is None
    assert len(tshark_runs) == 2 * MAIN_AND_BODIES  # every frame rewritten: no fallback pass
    assert len([r for r in one_pass["http_requests"] if r[4] == 40000]) == 3
    per_repeat, _ = per_repeat_rows(path, monkeypatch)
    assert sorted_tables(one_pass) == sorted_tables(per_repeat)


@pytest.mark.slow
def test_a_framing_not_rewritten_keeps_a_pass_per_repeat(tmp_path, tshark_runs):
    plain = tmp_path / "plain.pcap"
    repeated_session(plain, times=4, gap=7200)
    mpls = _rewrap(plain, tmp_path / "mpls.pcap", 1,
                   lambda eth, ip: eth[:12] + b"\x88\x47" + b"\x00\x01\x01\x40" + ip)  # fmt: skip
    tables, partial = rows_of(mpls)
    assert partial is None
    assert len([r for r in tables["http_requests"] if r[4] == 40000]) == 4
    # no frame rewritten, so no pass for all: a pass per repeat
    assert len(tshark_runs) == (1 + 3) * MAIN_AND_BODIES
    tshark_runs.clear()
    tables, partial = rows_of(mpls, max_refold_passes=2)
    assert partial.startswith("1 TCP sessions reuse the ports and sequence numbers of an earlier one")
    assert len([r for r in tables["http_requests"] if r[4] == 40000]) == 3  # the first and two passes
    assert len([r for r in tables["connections"] if r[4] == 40000]) == 4  # counted still


# Synthetic addresses


@pytest.mark.parametrize("size", [4, 16])
def test_synthetic_addresses_keep_the_checksum_sum_and_are_each_new(size):
    rng = random.Random(size)
    reals = [rng.randbytes(size) for _ in range(300)] + [bytes(size), b"\xff" * size]
    avoid = set(reals)
    addresses = SyntheticAddresses(avoid)
    seen = set()
    for real in reals:
        synthetic = addresses.replacing(real)
        assert len(synthetic) == size and synthetic not in avoid and synthetic not in seen
        seen.add(synthetic)
        words = lambda b: [int.from_bytes(b[i : i + 2], "big") for i in range(0, size, 2)]  # noqa: E731
        # equal sums, up to one's complement's two zeros
        assert ones_sum(words(synthetic)) % 0xFFFF == ones_sum(words(real)) % 0xFFFF
        if size == 16:  # written in full by tshark and Python alike: no zero group to compress
            assert str(ipaddress.IPv6Address(synthetic)).count(":") == 7
        else:
            assert synthetic[0] not in (0, 127) and synthetic[0] < 224


def test_a_rewritten_ipv4_header_keeps_a_valid_checksum():
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0,
                                   bytes([10, 0, 0, 7]), bytes([192, 0, 2, 80])))  # fmt: skip
    words = lambda b: [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]  # noqa: E731
    header[10:12] = (~ones_sum(words(header)) & 0xFFFF).to_bytes(2, "big")
    header[12:16] = SyntheticAddresses(set()).replacing(bytes(header[12:16]))
    assert ones_sum(words(header)) == 0xFFFF  # a valid header sums to all ones
    assert bytes(header[12:16]) != bytes([10, 0, 0, 7])


def test_the_ipv4_synthetic_addresses_run_out_rather_than_repeat():
    addresses = SyntheticAddresses(set())
    found = {addresses.replacing(b"\x0a\x00\x00\x07") for _ in range(readdress.IPV4_SYNTHETIC)}
    assert len(found) == readdress.IPV4_SYNTHETIC and None not in found
    assert addresses.replacing(b"\x0a\x00\x00\x07") is None


def test_frame_edits_reach_every_pcapng_packet_block_with_its_interface_link_type(tmp_path):
    from netsift.capture.pcapfile import write_frames

    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    source = tmp_path / "blocks.pcapng"
    source.write_bytes(
        block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        + block(1, struct.pack("<HHI", 101, 0, 65535)) + block(1, struct.pack("<HHI", 1, 0, 65535))
        + block(3, struct.pack("<I", 5) + b"simpl")  # simple packet: interface 0, 5 bytes (padded)
        + block(2, struct.pack("<HHIIII", 1, 0, 0, 0, 3, 3) + b"old")  # obsolete packet on interface 1
        + block(6, struct.pack("<IIIII", 1, 0, 0, 6, 6) + b"enhanc")  # enhanced, interface 1
        + block(6, struct.pack("<IIIII", 0, 0, 0, 4, 4) + b"drop")
    )  # fmt: skip
    seen = []

    def edit(position: int, link_type: int, packet: memoryview) -> bool:
        seen.append((position, link_type, bytes(packet)))
        packet[0:1] = b"X"
        return position != 3

    assert write_frames(source, tmp_path / "out.pcapng", [1, 2, 3, 4], edit) == 3
    assert seen == [(0, 101, b"simpl"), (1, 1, b"old"), (2, 1, b"enhanc"), (3, 101, b"drop")]
    out = (tmp_path / "out.pcapng").read_bytes()
    assert b"Ximpl" in out and b"Xld" in out and b"Xnhanc" in out and b"drop" not in out
    assert len(out) == source.stat().st_size - len(block(6, struct.pack("<IIIII", 0, 0, 0, 4, 4) + b"drop"))
