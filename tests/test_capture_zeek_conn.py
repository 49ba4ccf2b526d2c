"""Connections checked row by row against Zeek's conn.log for Zeek's own test
traces: tunnels (the inner flow is the connection, a UDP tunnel's outer flow
one more), unknown IP transports, ICMP counterparts, Zeek's TCP state machine
and its rule that a connection without duration has no sizes."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.test_capture_accuracy import BASELINE, ZEEK, five_tuple, rows_of
from tests.zeek_logs import read_zeek_log

TRACES = [
    ("tunnels/gre-sample.pcap", "core.tunnels.gre"),  # GRE, and an ICMP error quoting DNS
    ("tunnels/gre-over-udp-4754.pcap", "core.tunnels.gre-over-udp"),
    ("tunnels/gre-pptp.pcap", "core.tunnels.gre-pptp"),  # IPv4 in IPv6, PPTP's GRE, PPP
    ("tunnels/geneve-vxlan-dns-truncated.pcap", "core.tunnels.geneve-vxlan-truncated"),  # two tunnels deep
    ("tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap", "core.tunnels.gtp.outer_ip_frag"),
    ("tunnels/gtp/gtp7_ipv6.pcap", "core.tunnels.gtp.inner_ipv6"),
    ("tunnels/ayiya-large-identity.pcap", "core.tunnels.ayiya-large-identity"),
    ("erspanII.pcap", "core.erspanII"),
    ("pbb.pcap", "core.pbb"),  # OSPF and VRRP: unknown_transport
    ("vntag.pcap", "core.vntag"),
    ("pppoe.pcap", "core.pppoe"),  # ICMPv6 types and their counterparts, hop-by-hop options
    ("mpls-in-vlan.pcap", "core.mpls-in-vlan"),  # single packets: no duration, no sizes
    ("dhcp/dhcp.pcap", "scripts.base.protocols.dhcp.dhcp-all-msg-types"),  # a broadcast never originates
    ("ftp/ipv4.pcap", "scripts.base.protocols.ftp.ftp-ipv4"),  # the clock stops at the second FIN
    ("tls/irc-starttls.pcap", "scripts.base.protocols.irc.starttls"),  # a RST after the FINs: still SF
    ("krb/optional-service-name.pcap", "scripts.base.protocols.krb.krb-service-name"),  # SYN missed: S1
]


def _count(value) -> int | None:
    return None if value is None else int(value)


def conn_key(row: dict) -> tuple:
    return (
        five_tuple(row), row["proto"], row["conn_state"], _count(row["orig_bytes"]), _count(row["resp_bytes"]),
        _count(row["orig_pkts"]), _count(row["resp_pkts"]),
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("trace, baseline", TRACES)
def test_connections_equal_zeeks(trace, baseline):
    ours = rows_of(ZEEK / trace)["connections"]
    zeek = read_zeek_log(BASELINE / baseline / "conn.log")
    assert Counter(map(conn_key, ours)) == Counter(map(conn_key, zeek))
    durations = lambda rows: sorted(  # noqa: E731
        (conn_key(r), float(r["duration"] or 0)) for r in rows
    )
    for (key, mine), (_, theirs) in zip(durations(ours), durations(zeek)):
        assert mine == pytest.approx(theirs, abs=0.01), key


def test_dns_and_http_of_a_tunnel_are_on_its_inner_flow():
    tables = rows_of(ZEEK / "tunnels/gre-over-udp-4754.pcap")
    inner = {c["uid"]: five_tuple(c) for c in tables["connections"] if c["resp_p"] in (53, 80)}
    zeek_dns = read_zeek_log(BASELINE / "core.tunnels.gre-over-udp" / "dns.log")
    assert sorted(five_tuple(r) for r in tables["dns_queries"]) == sorted(map(five_tuple, zeek_dns))
    assert [five_tuple(r) for r in tables["http_requests"]] == [("172.17.0.2", 36518, "192.0.78.150", 80)]
    assert {inner[r["uid"]] for r in tables["dns_queries"] + tables["http_requests"]} == {
        five_tuple(r) for r in tables["dns_queries"] + tables["http_requests"]
    }


def test_an_icmp_error_quoting_dns_is_no_dns_row():
    tables = rows_of(ZEEK / "tunnels/gre-sample.pcap")
    zeek_dns = read_zeek_log(BASELINE / "core.tunnels.gre" / "dns.log")
    assert Counter(five_tuple(r) for r in tables["dns_queries"]) == Counter(map(five_tuple, zeek_dns))
    assert all(r["proto"] == "udp" for r in tables["dns_queries"])
