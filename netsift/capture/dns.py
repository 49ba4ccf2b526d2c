"""DNS as Zeek's dns.log has it: one row per query, its answers in order.

A query and its response are paired by connection and transaction id; a
response seen without its query (captures start mid-flight) still gives a
row, as Zeek does.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from netsift.capture.conn import Conn, epoch_to_datetime

DNS_COLUMNS = (
    "source_object_id", "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto",
    "trans_id", "query", "qtype_name", "rcode_name", "answers", "ttls", "community_id",
)  # fmt: skip

# Zeek's names (base/protocols/dns/consts.zeek: query_types, base_errors),
# with its fallbacks for numbers it has no name for.
QTYPES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP",
    18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR", 24: "SIG",
    25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC",
    33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK",
    41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC",
    48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA",
    55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK", 59: "CDS", 60: "CDNSKEY",
    61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF",
    100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64",
    107: "LP", 108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    253: "MAILB", 254: "MAILA", 255: "*", 256: "URI", 257: "CAA", 32768: "TA", 32769: "DLV",
    65281: "WINS", 65282: "WINS-R", 65422: "XPF", 65521: "INTEGRITY",
}  # fmt: skip
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSet", 9: "NOTAUTH", 10: "NOTZONE",
          11: "unassigned-11", 12: "unassigned-12", 13: "unassigned-13", 14: "unassigned-14",
          15: "unassigned-15", 16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE",
          20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE", 3842: "BADSIG"}  # fmt: skip
# Which tshark field holds the data of each answer type, in answer order.
RDATA_FIELD = {1: "a", 28: "aaaa", 5: "cname", 12: "ptr", 2: "ns", 15: "mx", 16: "txt",
               33: "srv", 6: "soa", 99: "spf", 46: "rrsig", 48: "dnskey", 43: "ds"}  # fmt: skip
# Record types whose answer Zeek writes as a fixed word.
CONSTANT_ANSWERS = {50: "NSEC3", 51: "NSEC3PARAM"}
# Answers that are domain names: Zeek lowercases them as it does queries.
_NAME_VALUED = frozenset({"cname", "ptr", "ns", "mx", "srv", "soa"})
# Zeek logs standard queries, dynamic updates (NetBIOS name registrations
# share their opcode) and notifies; other opcodes give no dns.log row.
LOGGED_OPCODES = frozenset({0, 4, 5})
NETBIOS_PORT = 137
# NB (32) records carry no answer text in Zeek, and on port 137 type 33 is
# NetBIOS node status, which Zeek does not parse: neither adds to `answers`.
_NETBIOS_SILENT = frozenset({32, 33})
PENDING_TIMEOUT = 120.0
# Zeek's dns.log lowercases `query` (its original case is an opt-in policy
# script), so LLMNR's "WPAD" and "wpad" are one name there. Zeek's to_lower
# folds ASCII only; str.lower() would also fold other letters (and change
# lengths), so the table is ASCII too.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

MULTICAST = (ipaddress.ip_network("224.0.0.0/4"), ipaddress.ip_network("ff00::/8"))


@functools.lru_cache(maxsize=4096)
def is_multicast(address: str) -> bool:
    """Zeek's DNS::multicast_subnets (224.0.0.0/4, ff00::/8): mDNS and LLMNR groups."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in MULTICAST if net.version == ip.version)


def reply_flips_roles(is_response: bool, dst: str) -> bool:
    """Whether a DNS response seen first makes its sender the responder.

    Zeek's DNS analyzer (DNS.cc) flips a connection whose first message is a
    response, unless the responder address is multicast: an mDNS or LLMNR
    announcement to a group keeps its sender as originator. Unicast replies
    flip as before.
    """
    return is_response and not is_multicast(dst)


def netbios_name(shown: str) -> str | None:
    """A NetBIOS name as Zeek's decode_netbios_name gives it, from tshark's
    display ("BRWC0CB383D1F42<00>"): the 16th byte (the suffix) dropped,
    trailing spaces and NULs stripped, the case kept (no lowercasing)."""
    name = shown
    if len(name) >= 4 and name[-4] == "<" and name[-1] == ">":
        name = name[:-4]
    while name.endswith((" ", "\x00", "\\000")):  # tshark writes a NUL as \000
        name = name[:-4] if name.endswith("\\000") else name[:-1]
    return name or None


@dataclass(frozen=True)
class DnsMessage:
    """The DNS (or NetBIOS name service) fields of one packet, split into
    lists where tshark lists them."""

    ts: float
    trans_id: int | None
    is_response: bool
    query: str | None  # the question's name; None when the message has no question
    qtype: int | None
    rcode: int | None
    answer_count: int
    rr_types: list[int]
    ttls: list[str]
    rdata: dict[str, list[str]]
    opcode: int = 0
    rr_names: list[str] = field(default_factory=list)  # owner names of the records, answers first
    netbios: bool = False

    def answers(self) -> tuple[list[str], list[float]]:
        """The answer section's data and TTLs, as Zeek writes them; authority
        and additional records follow the answers in tshark's lists and are
        left out."""
        queues = {name: list(values) for name, values in self.rdata.items()}
        answers, ttls = [], []
        for index, rr_type in enumerate(self.rr_types[: self.answer_count]):
            if self.netbios and rr_type in _NETBIOS_SILENT:
                continue
            name = RDATA_FIELD.get(rr_type)
            queue = queues.get(name) if name else None
            if queue:
                value = queue.pop(0)
            else:
                value = CONSTANT_ANSWERS.get(rr_type) or f"<{QTYPES.get(rr_type, rr_type)}>"
            if name in _NAME_VALUED:
                value = value.translate(_ASCII_LOWER)
            answers.append(value)
            if index < len(self.ttls):
                ttls.append(float(self.ttls[index]))
        return answers, ttls

    def answered_name(self) -> str | None:
        """The first answer's owner name: what Zeek logs as `query` for a
        response seen without its query (Zeek takes `query` from queries only)."""
        if self.answer_count and self.rr_names and not self.netbios:
            return self.rr_names[0] or None
        return None


class DnsLog:
    def __init__(self, object_id: int) -> None:
        self.object_id = object_id
        self.pending: dict[tuple[str, int | None], tuple[Conn, DnsMessage]] = {}

    def message(self, conn: Conn, msg: DnsMessage) -> tuple | None:
        """A finished row when this message completes one, else None."""
        if msg.opcode not in LOGGED_OPCODES:
            return None
        if is_multicast(conn.resp_h):
            # Zeek's DNS::set_session: replies to a group arrive on other
            # connections, so nothing is paired; each message is its own row.
            return self._row(conn, None if msg.is_response else msg, msg if msg.is_response else None)
        key = (conn.uid, msg.trans_id)
        if not msg.is_response:
            previous = self.pending.pop(key, None)
            self.pending[key] = (conn, msg)
            return self._row(*previous, None) if previous else None
        query = self.pending.pop(key, None)
        if query is None:
            return self._row(conn, None, msg)
        return self._row(query[0], query[1], msg)

    def expired(self, now: float) -> list[tuple]:
        old = [k for k, (_, msg) in self.pending.items() if now - msg.ts > PENDING_TIMEOUT]
        return [self._row(*self.pending.pop(k), None) for k in old]

    def remaining(self) -> list[tuple]:
        rows = [self._row(conn, msg, None) for conn, msg in self.pending.values()]
        self.pending = {}
        return rows

    def _row(self, conn: Conn, query: DnsMessage | None, response: DnsMessage | None) -> tuple:
        """One dns.log row: the name and type from the query message, the
        rcode, answers and TTLs from the response, as Zeek fills them."""
        first = query or response
        answers, ttls = response.answers() if response else (None, None)
        if query is not None:
            name, qtype = query_name(conn, query), query.qtype
        else:
            name, qtype = response.answered_name(), None
        rcode = response.rcode if response else None
        return (
            self.object_id, epoch_to_datetime(first.ts), conn.uid,
            conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p, conn.proto,
            first.trans_id, name.translate(_ASCII_LOWER) if name and not query_is_netbios(conn, query) else name,
            qtype_name(conn, qtype), RCODES.get(rcode, f"rcode-{rcode}") if rcode is not None else None,
            answers or None, ttls or None, conn.community_id(),
        )  # fmt: skip


def query_is_netbios(conn: Conn, query: DnsMessage | None) -> bool:
    """Zeek decodes the name of a query to port 137 (and only then)."""
    return query is not None and query.netbios and conn.resp_p == NETBIOS_PORT


def query_name(conn: Conn, query: DnsMessage) -> str | None:
    if query_is_netbios(conn, query) and query.query:
        return netbios_name(query.query)
    return query.query


def qtype_name(conn: Conn, qtype: int | None) -> str | None:
    """Zeek's name for a query type; on port 137, type 33 is NetBIOS node
    status (NBSTAT), not SRV."""
    if qtype is None:
        return None
    if qtype == 33 and conn.resp_p == NETBIOS_PORT:
        return "NBSTAT"
    return QTYPES.get(qtype, f"query-{qtype}")
