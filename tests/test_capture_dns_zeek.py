"""DNS rows checked row by row against Zeek's own dns.log for Zeek's test traces:
NetBIOS name service, mDNS and LLMNR (multicast, answer-only announcements),
and answers Zeek writes as text of its own."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.test_capture_accuracy import BASELINE, ZEEK, five_tuple, rows_of
from tests.zeek_logs import read_zeek_log

pytestmark = pytest.mark.slow  # row-by-row Zeek parity: a tshark pass per trace


def zeek_dns(row: dict) -> tuple:
    return (
        five_tuple(row), row["proto"], int(row["trans_id"]), row["query"], row["qtype_name"],
        row["rcode_name"], tuple(row["answers"].split(",")) if row["answers"] else None,
        tuple(float(t) for t in row["TTLs"].split(",")) if row["TTLs"] else None,
    )  # fmt: skip


def our_dns(row: dict) -> tuple:
    return (
        five_tuple(row), row["proto"], row["trans_id"], row["query"], row["qtype_name"],
        row["rcode_name"], tuple(row["answers"]) if row["answers"] else None,
        tuple(row["ttls"]) if row["ttls"] else None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def wikipedia():
    return rows_of(ZEEK / "wikipedia.pcap")


def test_every_dns_row_of_a_mixed_capture_matches_zeek(wikipedia):
    """Unicast DNS, NBNS broadcasts, LLMNR queries and mDNS queries and announcements."""
    zeek = read_zeek_log(BASELINE / "opt.basic" / "dns.log")
    assert Counter(map(our_dns, wikipedia["dns_queries"])) == Counter(map(zeek_dns, zeek))


def test_netbios_queries_are_logged_with_their_decoded_name(wikipedia):
    nbns = [r for r in wikipedia["dns_queries"] if r["resp_p"] == 137]
    # Zeek: the 16th byte (name type) dropped, trailing spaces stripped, case kept
    assert Counter(r["query"] for r in nbns) == {"BRWC0CB383D1F42": 7, "WORKGROUP": 1}
    assert {(r["qtype_name"], r["rcode_name"], r["answers"]) for r in nbns} == {("NIMLOC", None, None)}
    assert sorted(r["trans_id"] for r in nbns) == [9321, 65390, 65390, 65390, 65394, 65394, 65394, 65398]
    by_uid = {c["uid"]: c for c in wikipedia["connections"]}
    assert {by_uid[r["uid"]]["service"] for r in nbns} == {"dns"}


def test_an_mdns_announcement_keeps_its_sender_as_originator(wikipedia):
    """A response sent to a multicast group is not flipped (Zeek's DNS.cc):
    the announcing host stays orig_h, the group resp_h, in dns and conn rows."""
    (row,) = [r for r in wikipedia["dns_queries"] if r["orig_h"] == "fe80::217:f2ff:fed7:cf65"]
    assert five_tuple(row) == ("fe80::217:f2ff:fed7:cf65", 5353, "ff02::fb", 5353)
    # answer-only: the query is the answered name, with no query type
    assert (row["query"], row["qtype_name"], row["rcode_name"]) == ("gemini._sftp-ssh._tcp.local", None, "NOERROR")
    assert (row["answers"], row["ttls"]) == (["gemini.local"], [120.0])
    zeek_conns = {five_tuple(z) for z in read_zeek_log(BASELINE / "opt.basic" / "conn.log")}
    mdns = {five_tuple(c) for c in wikipedia["connections"] if 5353 in (c["orig_p"], c["resp_p"])}
    assert mdns and mdns <= zeek_conns


def test_multicast_messages_are_never_paired_by_transaction_id():
    """Queries and unrelated announcements share id 0 on one connection: one row each."""
    ours = rows_of(ZEEK / "dns" / "mdns-no-assoc.pcap")["dns_queries"]
    zeek = read_zeek_log(BASELINE / "scripts.base.protocols.dns.mdns-no-assoc" / "dns.log")
    assert Counter(map(our_dns, ours)) == Counter(map(zeek_dns, zeek))
    assert len({r["uid"] for r in ours}) == 2 and len(ours) == 6


@pytest.mark.parametrize("trace, baseline", [
    ("dnssec/dnskey2.pcap", "scripts.base.protocols.dns.dns-key"),  # DNSKEY and RRSIG answers
    ("dns-two-responses.pcap", "scripts.base.protocols.dns.duplicate-reponses"),  # CNAME case, RRSIG
    ("dns/dns_notify2.pcap", "scripts.base.protocols.dns.notify"),
    ("dns-zero-RRs.pcap", "scripts.base.protocols.dns.zero-responses"),
    ("dns53.pcap", "scripts.base.protocols.dns.flip"),  # a unicast reply seen first still flips
])  # fmt: skip
def test_dns_rows_match_zeek(trace, baseline):
    ours = rows_of(ZEEK / trace)["dns_queries"]
    zeek = read_zeek_log(BASELINE / baseline / "dns.log")
    assert Counter(map(our_dns, ours)) == Counter(map(zeek_dns, zeek))


@pytest.mark.parametrize("trace, baseline", [
    ("dns-txt-multiple.pcap", "scripts.base.protocols.dns.multiple-txt-strings"),
    ("dns-spf.pcap", "scripts.base.protocols.dns.spf"),
])  # fmt: skip
def test_txt_and_spf_answers_are_written_as_zeek_writes_them(trace, baseline):
    """Zeek ran these without -C and dropped each query for its bad UDP
    checksum, so its row lacks the query type; the answers must still agree."""
    (ours,) = rows_of(ZEEK / trace)["dns_queries"]
    (zeek,) = read_zeek_log(BASELINE / baseline / "dns.log")
    assert our_dns(ours)[3:] != zeek_dns(zeek)[3:]  # only the query type differs:
    assert our_dns(ours)[:4] + our_dns(ours)[5:] == zeek_dns(zeek)[:4] + zeek_dns(zeek)[5:]


def _netbios_name(name: str, suffix: int) -> bytes:
    """RFC 1002 first-level encoding: 16 bytes as 32 letters A-P."""
    raw = name.ljust(15).encode() + bytes([suffix])
    return b"\x20" + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0xF))) + b"\x00"


def test_a_netbios_query_answered_by_a_name_server_is_one_row(tmp_path):
    """A query to a WINS server and its positive answer pair up: Zeek's row has
    the decoded name and the rcode, and no answers (it writes none for NB records)."""
    from tests.test_capture_accuracy import _dns_pcap

    question = _netbios_name("FILESERVER", 0x20) + b"\x00\x20\x00\x01"
    query = b"\x81\x10\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + question
    answer = _netbios_name("FILESERVER", 0x20) + b"\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x06\x00\x00\x0a\x00\x00\x01"
    reply = b"\x81\x10\x85\x00\x00\x00\x00\x01\x00\x00\x00\x00" + answer
    pcap = _dns_pcap(tmp_path / "wins.pcap", [
        ("10.0.0.5", 137, "10.0.0.1", 137, query),
        ("10.0.0.1", 137, "10.0.0.5", 137, reply),
    ])  # fmt: skip
    (row,) = rows_of(pcap)["dns_queries"]
    assert five_tuple(row) == ("10.0.0.5", 137, "10.0.0.1", 137)
    assert (row["trans_id"], row["query"], row["qtype_name"], row["rcode_name"]) == (0x8110, "FILESERVER", "NIMLOC", "NOERROR")
    assert (row["answers"], row["ttls"]) == (None, None)
