"""`make parity`: netsift's capture tables against Zeek's own logs, row by row.

Every pair below is a Zeek btest trace and the baseline logs Zeek's test
suite records for it (tests/data/zeek, provenance in its SOURCES.md).
Each pair whose test runs plain `zeek [-b] [-C] -r TRACE` with at most
protocol @loads was taken, up to 70 KB a trace; tests with BPF filters,
option redefs or extra script code were left out (their logs are not what
Zeek writes by default).

A Zeek row counts as matched when an unused netsift row carries the same
values in the columns both have:
- conn: 5-tuple, proto, conn_state, orig/resp bytes and packets, duration within 10 ms
  (`service` is left out: `zeek -b` loads few analyzers, so its baselines lack most);
- dns: 5-tuple, proto, trans_id, query, qtype_name, rcode_name, answers, TTLs;
- http: 4-tuple, method, host, uri, status_code;
- files: HTTP-sourced rows only (netsift extracts HTTP bodies), the connection's
  4-tuple and the size (Zeek's seen_bytes).
Extra rows netsift has and Zeek does not are reported apart. Not a test: it
prints numbers (`--detail` lists every unmatched row).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from netsift.capture.conn import CONNECTION_COLUMNS
from netsift.capture.dissect import Limits, capture_info, dissect
from netsift.capture.dns import DNS_COLUMNS
from netsift.capture.http import FILE_COLUMNS, HTTP_COLUMNS
from netsift.settings import Settings

ZEEK = Path(__file__).resolve().parent.parent / "tests" / "data" / "zeek"
LOGS = ("conn", "dns", "http", "files")
TABLES = {"conn": ("connections", CONNECTION_COLUMNS), "dns": ("dns_queries", DNS_COLUMNS),
          "http": ("http_requests", HTTP_COLUMNS), "files": ("extracted_files", FILE_COLUMNS)}  # fmt: skip

# (btest name = baseline folder, trace under Traces/, logs compared)
PAIRS = (
    ("core.cisco-fabric-path", "cisco-fabric-path.pcap", "conn"),
    ("core.erspanI", "erspanI.pcap", "conn"),
    ("core.erspanII", "erspanII.pcap", "conn"),
    ("core.erspanIII", "erspanIII.pcap", "conn"),
    ("core.mpls-in-vlan", "mpls-in-vlan.pcap", "conn"),
    ("core.nflog", "nflog-http.pcap", "http"),
    ("core.pbb", "pbb.pcap", "conn"),
    ("core.pcapng-pktsrc", "pcapng-multi-interface.pcapng", "conn"),
    ("core.ppp", "ppp/quic-interop-retry.pcap", "conn"),
    ("core.pppoe", "pppoe.pcap", "conn"),
    ("core.pppoe-over-qinq", "pppoe-over-qinq.pcap", "conn"),
    ("core.q-in-q", "q-in-q.pcap", "conn"),
    ("core.radiotap", "radiotap.pcap", "conn"),
    ("core.tcp-padding", "tcp-http-with-padding.pcap", "conn,http"),
    ("core.tcp.flip-without-syn", "tcp/http-on-irc-port-missing-syn.pcapng", "conn"),
    ("core.tcp.missing-syn", "tcp/missing-syn.pcap", "conn"),
    ("core.tunnels.ayiya", "tunnels/ayiya3.pcap", "conn,http"),
    ("core.tunnels.ayiya-large-identity", "tunnels/ayiya-large-identity.pcap", "conn"),
    ("core.tunnels.geneve-47101", "tunnels/geneve-47101.pcap", "conn"),
    ("core.tunnels.geneve-ipv6", "tunnels/geneve-ipv6.pcap", "conn"),
    ("core.tunnels.geneve-vxlan-truncated", "tunnels/geneve-vxlan-dns-truncated.pcap", "conn"),
    ("core.tunnels.gre", "tunnels/gre-sample.pcap", "conn,dns"),
    ("core.tunnels.gre-aruba-amsdu", "tunnels/gre-aruba-amsdu.pcap", "conn"),
    ("core.tunnels.gre-over-udp", "tunnels/gre-over-udp-4754.pcap", "conn,dns,http"),
    ("core.tunnels.gre-pptp", "tunnels/gre-pptp.pcap", "conn,dns"),
    ("core.tunnels.gtp.false_gtp", "tunnels/gtp/gtp3_false_gtp.pcap", "conn,dns"),
    ("core.tunnels.gtp.inner_ipv6", "tunnels/gtp/gtp7_ipv6.pcap", "conn"),
    ("core.tunnels.gtp.not_user_plane_data", "tunnels/gtp/gtp10_not_0xff.pcap", "conn"),
    ("core.tunnels.gtp.outer_ip_frag", "tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap", "conn,http"),
    ("core.tunnels.vxlan-unknown-internal-packet", "tunnels/vxlan-encapsulated-igmp-v2.pcap", "conn"),
    ("core.vlan-mpls", "mixed-vlan-mpls.pcap", "conn,http"),
    ("core.vntag", "vntag.pcap", "conn"),
    ("core.vntag-in-vlan", "vntag_vlan_sandwich_clean.pcap", "conn"),
    ("core.wlanmon", "wlanmon.pcap", "conn"),
    ("opt.basic", "wikipedia.pcap", "conn,dns,http"),
    ("scripts.base.frameworks.file-analysis.byteranges", "http/byteranges.pcap", "files"),
    ("scripts.base.frameworks.logging.ascii-escape-odd-url", "www-odd-url.pcap", "http"),
    ("scripts.base.protocols.dhcp.dhcp-all-msg-types", "dhcp/dhcp.pcap", "conn"),
    ("scripts.base.protocols.dns.dns-key", "dnssec/dnskey2.pcap", "dns"),
    ("scripts.base.protocols.dns.duplicate-reponses", "dns-two-responses.pcap", "dns"),
    ("scripts.base.protocols.dns.flip", "dns53.pcap", "dns"),
    ("scripts.base.protocols.dns.mdns-no-assoc", "dns/mdns-no-assoc.pcap", "dns"),
    ("scripts.base.protocols.dns.multiple-txt-strings", "dns-txt-multiple.pcap", "dns"),
    ("scripts.base.protocols.dns.notify", "dns/dns_notify2.pcap", "dns"),
    ("scripts.base.protocols.dns.spf", "dns-spf.pcap", "dns"),
    ("scripts.base.protocols.dns.zero-responses", "dns-zero-RRs.pcap", "dns"),
    ("scripts.base.protocols.ftp.ftp-ipv4", "ftp/ipv4.pcap", "conn"),
    ("scripts.base.protocols.ftp.ftp-ipv6", "ftp/ipv6.pcap", "conn"),
    ("scripts.base.protocols.http.100-continue", "http/100-continue.pcap", "http"),
    ("scripts.base.protocols.http.bad-content-range", "http/http-bad-content-range-01.pcap", "http"),
    ("scripts.base.protocols.http.concurrent-range-requests", "http/concurrent-range-requests.pcap", "conn,files,http"),
    ("scripts.base.protocols.http.content-length-overflow", "http/content-length-overflow.pcap", "http"),
    ("scripts.base.protocols.http.content-range-less-than-len", "http/content-range-less-than-len.pcap", "http"),
    ("scripts.base.protocols.http.curl-http-09", "http/curl_http_09.pcap", "http"),
    ("scripts.base.protocols.http.deeply-nested-mime", "http/deeply-nested-mime.pcap", "http"),
    ("scripts.base.protocols.http.fake-content-length", "http/fake-content-length.pcap", "http"),
    ("scripts.base.protocols.http.http-09", "http/http_09.pcap", "http"),
    ("scripts.base.protocols.http.http-11-request-then-cruft", "http/http-11-request-then-cruft.pcap", "http"),
    ("scripts.base.protocols.http.http-bad-request-with-version", "http/http-bad-request-with-version.pcap", "http"),
    ("scripts.base.protocols.http.http-connect", "http/connect-with-smtp.pcap", "conn,http"),
    ("scripts.base.protocols.http.http-connect-with-header", "http/connect-with-header.pcap", "conn,http"),
    ("scripts.base.protocols.http.http-filename", "http/http-filename.pcap", "http"),
    ("scripts.base.protocols.http.missing-http-entity", "http/interleaved-http-entity.pcap", "http"),
    ("scripts.base.protocols.http.missing-zlib-header", "http/missing-zlib-header.pcap", "http"),
    ("scripts.base.protocols.http.multipart-body-length", "http/multipart-form-data.pcap", "http"),
    ("scripts.base.protocols.http.no-version", "http/no-version.pcap", "http"),
    ("scripts.base.protocols.http.percent-end-of-line", "http/percent-end-of-line.pcap", "http"),
    ("scripts.base.protocols.http.query-method", "http/query-method.pcap", "http"),
    ("scripts.base.protocols.http.query-method-non-standard-port", "http/query-method-non-standard-port.pcap", "http"),
    ("scripts.base.protocols.http.version-mismatch", "http/version-mismatch.pcap", "http"),
    ("scripts.base.protocols.http.x-gzip", "http/x-gzip.pcap", "http"),
    ("scripts.base.protocols.irc.starttls", "tls/irc-starttls.pcap", "conn"),
    ("scripts.base.protocols.krb.krb-service-name", "krb/optional-service-name.pcap", "conn"),
    ("scripts.base.protocols.pop3.starttls", "tls/pop3-starttls.pcap", "conn"),
    ("scripts.base.protocols.snap.snap-tcp", "snap-tcp.pcap", "http"),
    ("scripts.base.protocols.xmpp.starttls", "tls/xmpp-starttls.pcap", "conn"),
)  # fmt: skip


def zeek_rows(path: Path) -> list[dict]:
    """A Zeek ASCII log's rows; `-` and `(empty)` become None. Some
    baselines went through zeek-cut -c: their header is a bare first line."""
    fields, rows = [], []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#fields") or (not fields and line and not line.startswith("#")):
            fields = [name.replace("id.", "") for name in line.split("\t")[line.startswith("#"):]]
        elif line and not line.startswith("#"):
            values = [None if v in ("-", "(empty)") else v for v in line.split("\t")]
            rows.append(dict(zip(fields, values)))
    return rows


def netsift_rows(trace: Path) -> dict[str, list[dict]]:
    tables = {log: [] for log in LOGS}
    by_table = {table: (log, columns) for log, (table, columns) in TABLES.items()}
    info = capture_info(trace)
    for table, row in dissect(trace, 1, info, Limits.from_settings(Settings(), timeout=120)):
        log, columns = by_table[table]
        tables[log].append(dict(zip(columns, row)))
    conns = {c["uid"]: c for c in tables["conn"]}
    for file_row in tables["files"]:  # a file's connection, for its 4-tuple
        conn = conns.get(file_row["uid"], {})
        file_row.update({k: conn.get(k) for k in ("orig_h", "orig_p", "resp_h", "resp_p")})
    return tables


def _int(value) -> int | None:
    return None if value is None or value == "" else int(value)


def _floats(value) -> tuple:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(round(float(v), 3) for v in items)


def _strings(value) -> tuple:
    if value is None:
        return ()
    return tuple(value.split(",")) if isinstance(value, str) else tuple(value)


def key(log: str, row: dict) -> tuple:
    """The values compared for one row, Zeek's or netsift's alike."""
    four = (row["orig_h"], _int(row["orig_p"]), row["resp_h"], _int(row["resp_p"]))
    if log == "conn":
        counts = [_int(row[name]) or 0 for name in ("orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts")]
        return (*four, row["proto"], row["conn_state"], *counts)
    if log == "dns":
        return (*four, row["proto"], _int(row["trans_id"]), row["query"], row["qtype_name"],
                row["rcode_name"], _strings(row["answers"]), _floats(row.get("TTLs", row.get("ttls"))))  # fmt: skip
    if log == "http":
        return (*four, row["method"], row["host"], row["uri"], _int(row["status_code"]))
    return (*four, _int(row.get("seen_bytes", row.get("size"))))


def _duration(row: dict) -> float:
    return float(row["duration"]) if row.get("duration") not in (None, "") else 0.0


def compare(log: str, zeek: list[dict], ours: list[dict]) -> tuple[int, list[dict], list[dict]]:
    """(matched, Zeek rows unmatched, netsift rows unmatched): each netsift row matches once."""
    if log == "files":
        zeek = [z for z in zeek if z.get("source") == "HTTP"]
    left = list(ours)
    matched, missed = 0, []
    for row in zeek:
        wanted = key(log, row)
        found = next((i for i, mine in enumerate(left) if key(log, mine) == wanted
                      and (log != "conn" or abs(_duration(mine) - _duration(row)) <= 0.01)), None)  # fmt: skip
        if found is None:
            missed.append(row)
        else:
            matched += 1
            del left[found]
    return matched, missed, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detail", action="store_true", help="list every unmatched row")
    parser.add_argument("--only", help="run only btests whose name contains this")
    args = parser.parse_args()
    totals, matched, extra = Counter(), Counter(), Counter()
    per_test = []
    for test, trace, logs in PAIRS:
        if args.only and args.only not in test:
            continue
        try:
            ours = netsift_rows(ZEEK / trace)
        except Exception as error:  # a crash on one trace counts its rows unmatched
            print(f"  {test}: netsift failed: {error}")
            ours = {log: [] for log in LOGS}
        line = []
        for log in logs.split(","):
            zeek = zeek_rows(ZEEK / "baseline" / test / f"{log}.log")
            hit, missed, left = compare(log, zeek, ours[log])
            total = hit + len(missed)
            totals[log] += total
            matched[log] += hit
            extra[log] += len(left)
            line.append(f"{log} {hit}/{total}" + (f" +{len(left)}" if left else ""))
            if args.detail and (missed or left):
                for row in missed:
                    print(f"  {test} {log} zeek only:    {key(log, row)}")
                for row in left:
                    print(f"  {test} {log} netsift only: {key(log, row)}")
        per_test.append(f"{test:70} {trace:50} {'  '.join(line)}")
    print("\n".join(per_test))
    print()
    print(f"{'log':6} {'matched':>8} {'total':>6} {'ratio':>6} {'netsift extra':>14}")
    for log in LOGS:
        if totals[log]:
            print(f"{log:6} {matched[log]:8} {totals[log]:6} {matched[log] / totals[log]:6.3f} {extra[log]:14}")
    all_hit, all_total = sum(matched.values()), sum(totals.values())
    print(f"{'all':6} {all_hit:8} {all_total:6} {all_hit / max(all_total, 1):6.3f} {sum(extra.values()):14}")
    print(f"{len(per_test)} trace+baseline pairs")


if __name__ == "__main__":
    main()
