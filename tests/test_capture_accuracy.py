"""Dissection checked row by row against Zeek's baselines and workbench's outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsift.capture.dissect import Limits, capture_info, dissect
from netsift.settings import Settings
from tests.conftest import DATA
from tests.zeek_logs import read_zeek_log

pytestmark = pytest.mark.slow  # row-by-row Zeek parity: a tshark pass per trace

PCAPS = DATA / "pcap"
ZEEK = PCAPS.parent / "zeek"
BASELINE = ZEEK / "baseline"


def rows_of(path: Path) -> dict[str, list[dict]]:
    from netsift.capture.conn import CONNECTION_COLUMNS
    from netsift.capture.dns import DNS_COLUMNS
    from netsift.capture.http import FILE_COLUMNS, HTTP_COLUMNS

    columns = {"connections": CONNECTION_COLUMNS, "dns_queries": DNS_COLUMNS,
               "http_requests": HTTP_COLUMNS, "extracted_files": FILE_COLUMNS}  # fmt: skip
    tables: dict[str, list[dict]] = {name: [] for name in columns}
    info = capture_info(path)
    for table, row in dissect(path, 1, info, Limits.from_settings(Settings(), timeout=60)):
        tables[table].append(dict(zip(columns[table], row)))
    tables["info"] = [vars(info)]
    return tables


def five_tuple(row: dict) -> tuple:
    get = lambda *names: next(row[n] for n in names if n in row)  # noqa: E731
    return (
        get("orig_h", "id.orig_h"), int(get("orig_p", "id.orig_p")),
        get("resp_h", "id.resp_h"), int(get("resp_p", "id.resp_p")),
    )  # fmt: skip


@pytest.mark.parametrize(
    "trace, baseline", [("mixed-vlan-mpls.pcap", "core.vlan-mpls"), ("tcp-http-with-padding.pcap", "core.tcp-padding")]
)
def test_connections_match_zeek_row_by_row(trace, baseline):
    ours = sorted(rows_of(ZEEK / trace)["connections"], key=five_tuple)
    zeek = sorted(read_zeek_log(BASELINE / baseline / "conn.log"), key=five_tuple)
    assert [five_tuple(r) + (r["proto"],) for r in ours] == [five_tuple(z) + (z["proto"],) for z in zeek]
    for mine, theirs in zip(ours, zeek):
        assert mine["conn_state"] == theirs["conn_state"]
        assert (mine["orig_bytes"], mine["resp_bytes"]) == (int(theirs["orig_bytes"]), int(theirs["resp_bytes"]))
        assert (mine["orig_pkts"], mine["resp_pkts"]) == (int(theirs["orig_pkts"]), int(theirs["resp_pkts"]))
        assert mine["duration"] == pytest.approx(float(theirs["duration"]), abs=0.01)


@pytest.mark.parametrize(
    "trace, baseline", [("mixed-vlan-mpls.pcap", "core.vlan-mpls"), ("tcp-http-with-padding.pcap", "core.tcp-padding")]
)
def test_http_matches_zeek_row_by_row(trace, baseline):
    tables = rows_of(ZEEK / trace)
    ours = sorted(tables["http_requests"], key=five_tuple)
    zeek = sorted(read_zeek_log(BASELINE / baseline / "http.log"), key=five_tuple)
    assert [
        (five_tuple(r), r["method"], r["host"], r["uri"], r["status_code"]) for r in ours
    ] == [
        (five_tuple(z), z["method"], z["host"], z["uri"], int(z["status_code"])) for z in zeek
    ]
    # Each request names the connection that carried it.
    uids = {c["uid"]: five_tuple(c) for c in tables["connections"]}
    assert all(uids[r["uid"]] == five_tuple(r) for r in ours)


def test_dns_matches_zeek_even_when_the_reply_comes_first():
    ours = rows_of(ZEEK / "dns53.pcap")["dns_queries"]
    (zeek,) = read_zeek_log(BASELINE / "scripts.base.protocols.dns.flip" / "dns.log")
    assert len(ours) == 1
    row = ours[0]
    assert five_tuple(row) == five_tuple(zeek) and row["proto"] == zeek["proto"]
    assert (row["trans_id"], row["query"], row["rcode_name"]) == (
        int(zeek["trans_id"]), zeek["query"], zeek["rcode_name"]
    )
    assert row["answers"] == zeek["answers"].split(",")
    assert row["ttls"] == [float(t) for t in zeek["TTLs"].split(",")]


KITCHEN_BOSS_FILES = {  # from kitchen_boss_expected_outputs.md (Bro 2.x, 2014)
    "c762b6ba4f560692b6b84ac212cd3ec2": (18643, "c776c5f3b979233c8466fc521e38271bbd59081538e126273fe1a75a228bd25d", 7.889679107924797, "Java"),
    "4410133f571476f2e76e29e61767b557": (273920, "e4bbdc8f869502183293797f51d6d64cc6c49d39b82effbcb738abe511054b51", 7.515107193655836, "PE32 executable"),
    "16cf037b8c8caad6759afc8c309de0f9": (7724, "8af130ffe1140894895225e265d5d9a753ad9d85883db742c88f13bae01e2c30", 7.9751436379093406, "Macromedia Flash"),
    "40b8c3c98f50e078251ec272620dfb5b": (13006, "5dac98c66c7440992de9de860dd4312790bcc7bbcbb4aebfdce8b3fdfcfc56af", 7.284164074455011, "PDF document"),
}  # fmt: skip


KITCHEN_BOSS_SSDEEP = {  # the notebook's digests, verbatim from kitchen_boss_expected_outputs.md
    "c762b6ba4f560692b6b84ac212cd3ec2": "384:7SXliKrIvBZFzoceSZNZ2wLk588eHYBAXGIsMeV:AiKrKySZNxg5892SGII",
    "4410133f571476f2e76e29e61767b557": "6144:RSxqC+ayi6eWLj622ARbJFMQzynbJDxL3oPlRa:oxqC+ayi6p6EmQz+bf3otA",
    "16cf037b8c8caad6759afc8c309de0f9": "192:v27CdZAdM5nmNvipKRRkLozlrEKcgTtpEV3+5jxChbNT3:v27QZAAVpKRRkLu/cOEa9ORD",
    "40b8c3c98f50e078251ec272620dfb5b": "384:jW3+XiQMTXgazaO/J9m1DfN6abiiYEVB0T0DM:Ph+fJSE2r0j",
}  # fmt: skip


@pytest.fixture(scope="module")
def kitchen_boss():
    return rows_of(PCAPS / "kitchen_boss.pcap")


def test_kitchen_boss_payloads_match_workbench(kitchen_boss):
    files = {f["md5"]: f for f in kitchen_boss["extracted_files"]}
    for md5, (size, sha256, entropy, family) in KITCHEN_BOSS_FILES.items():
        found = files[md5]
        assert (found["size"], found["sha256"]) == (size, sha256)
        assert found["entropy"] == pytest.approx(entropy, abs=1e-5)
        assert found["file_type"].startswith(family), found["file_type"]
        assert found["uid"] and found["uri"]
    assert kitchen_boss["info"][0]["md5"] == "df4f4a2e2bf020be50a12554942edb88"


def test_kitchen_boss_ssdeep_matches_the_notebook_exactly(kitchen_boss):
    files = kitchen_boss["extracted_files"]
    assert {f["md5"]: f["ssdeep"] for f in files if f["md5"] in KITCHEN_BOSS_SSDEEP} == KITCHEN_BOSS_SSDEEP
    # every extracted file has one, and a digest is a function of the bytes
    assert all(f["ssdeep"] for f in files)
    assert len({(f["sha256"], f["ssdeep"]) for f in files}) == len({f["sha256"] for f in files})


def test_kitchen_boss_dns_is_eleven_a_and_one_ptr(kitchen_boss):
    rows = kitchen_boss["dns_queries"]
    assert sorted(r["qtype_name"] for r in rows) == ["A"] * 11 + ["PTR"]
    by_query = {r["query"]: r for r in rows}
    assert by_query["kitchenboss.com.au"]["answers"] == ["111.223.225.83"]
    assert by_query["92.194.4.142.in-addr.arpa"]["rcode_name"] == "NXDOMAIN"
    assert by_query["fpdownload2.macromedia.com"]["answers"] == [
        "fpdownload2.wip4.adobe.com", "fpdownload.macromedia.com.edgesuite.net",
        "a1293.d.akamai.net", "23.212.52.65", "23.212.52.73",
    ]  # fmt: skip
    assert {five_tuple(r)[2:] for r in rows} == {("4.2.2.3", 53)}


def test_kitchen_boss_capture_facts(kitchen_boss):
    info = kitchen_boss["info"][0]
    assert (info["packets"], info["link_type"], info["partial"]) == (2081, "EN10MB", None)
    assert info["last_ts"] > info["first_ts"]
    assert len({c["uid"] for c in kitchen_boss["connections"]}) == len(kitchen_boss["connections"])


def test_uids_are_stable_across_runs():
    first = [r["uid"] for r in rows_of(ZEEK / "mixed-vlan-mpls.pcap")["connections"]]
    second = [r["uid"] for r in rows_of(ZEEK / "mixed-vlan-mpls.pcap")["connections"]]
    assert first == second and all(u.startswith("C") and len(u) == 18 for u in first)


def test_pcapng_gives_the_same_rows_and_its_link_type(tmp_path):
    import subprocess

    converted = tmp_path / "vlan.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(ZEEK / "mixed-vlan-mpls.pcap"), str(converted)], check=True)
    assert converted.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    ours, plain = rows_of(converted), rows_of(ZEEK / "mixed-vlan-mpls.pcap")
    assert ours["info"][0]["link_type"] == "EN10MB"
    assert [five_tuple(r) for r in ours["connections"]] == [five_tuple(r) for r in plain["connections"]]
    assert [r["uri"] for r in ours["http_requests"]] == [r["uri"] for r in plain["http_requests"]]


def test_capture_hashing_streams_the_file(tmp_path, monkeypatch):
    import tracemalloc

    big = tmp_path / "big.pcap"
    with big.open("wb") as sink:
        sink.write((ZEEK / "dns53.pcap").read_bytes())
        sink.write(b"\x00" * (64 << 20))  # 64 MiB of trailing bytes: hashed, never held
    tracemalloc.start()
    info = capture_info(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert info.size_bytes > 64 << 20 and info.link_type == "EN10MB"
    assert peak < 8 << 20


def test_community_id_matches_the_spec_vectors():
    from netsift.capture.conn import community_id

    # the Community ID spec's README example and its ICMP baseline (echo and reply share one)
    assert community_id("tcp", "128.232.110.120", 34855, "66.35.250.204", 80) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id("icmp", "192.168.0.89", 8, "192.168.0.1", 0) == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    assert community_id("icmp", "192.168.0.1", 0, "192.168.0.89", 0) == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    assert community_id("tcp", "not-an-address", 1, "10.0.0.1", 2) == ""


def test_community_id_is_on_every_capture_row_and_shared_by_a_connection(kitchen_boss):
    by_uid = {c["uid"]: c["community_id"] for c in kitchen_boss["connections"]}
    assert all(cid and cid.startswith("1:") for cid in by_uid.values())
    for table in ("dns_queries", "http_requests"):
        rows = kitchen_boss[table]
        assert rows and all(r["community_id"] == by_uid[r["uid"]] for r in rows)


def _dns_pcap(path: Path, messages: list[tuple[str, int, str, int, bytes]]) -> Path:
    """A classic pcap of Ethernet/IPv4/UDP frames, one per (src, sport, dst,
    dport, dns payload): built by hand because scapy is not a dependency."""
    import socket
    import struct

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, (src, sport, dst, dport, dns) in enumerate(messages):
        udp = struct.pack("!HHHH", sport, dport, 8 + len(dns), 0) + dns
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst)) + udp  # fmt: skip
        frame = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip
        out.append(struct.pack("<IIII", 1_700_000_000 + index, 0, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def _dns_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"


def test_dns_query_names_are_lowercased_as_zeek_logs_them(tmp_path):
    question = _dns_name("WPAD.Example.LOCAL") + b"\x00\x01\x00\x01"
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + question
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x1e\x00\x04\xc0\x00\x02\x07"
    reply = b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question + answer
    pcap = _dns_pcap(tmp_path / "mixed.pcap", [
        ("192.0.2.10", 40000, "192.0.2.53", 53, query),
        ("192.0.2.53", 53, "192.0.2.10", 40000, reply),
    ])  # fmt: skip
    (row,) = rows_of(pcap)["dns_queries"]
    assert (row["query"], row["qtype_name"], row["answers"]) == ("wpad.example.local", "A", ["192.0.2.7"])
    assert five_tuple(row) == ("192.0.2.10", 40000, "192.0.2.53", 53)
