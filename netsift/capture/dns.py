"""DNS as Zeek's dns.log has it: one row per query, its answers in order.

A query and its response are paired by connection and transaction id; a
response seen without its query (captures start mid-flight) still gives a
row, as Zeek does.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsift.capture.conn import Conn, epoch_to_datetime

DNS_COLUMNS = (
    "source_object_id", "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto",
    "trans_id", "query", "qtype_name", "rcode_name", "answers", "ttls", "community_id",
)  # fmt: skip

QTYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
    28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
    64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "*", 257: "CAA",
}  # fmt: skip
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}  # fmt: skip
# Which tshark field holds the data of each answer type, in answer order.
RDATA_FIELD = {1: "a", 28: "aaaa", 5: "cname", 12: "ptr", 2: "ns", 15: "mx", 16: "txt"}
PENDING_TIMEOUT = 120.0
# Zeek's dns.log lowercases `query` (its original case is an opt-in policy
# script), so LLMNR's "WPAD" and "wpad" are one name there. Zeek's to_lower
# folds ASCII only; str.lower() would also fold other letters (and change
# lengths), so the table is ASCII too.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class DnsMessage:
    """The DNS fields of one packet, split into lists where tshark lists them."""

    ts: float
    trans_id: int | None
    is_response: bool
    query: str | None
    qtype: int | None
    rcode: int | None
    answer_count: int
    rr_types: list[int]
    ttls: list[str]
    rdata: dict[str, list[str]]

    def answers(self) -> tuple[list[str], list[float]]:
        """The answer section's data and TTLs; authority and additional
        records follow the answers in tshark's lists and are left out."""
        queues = {name: list(values) for name, values in self.rdata.items()}
        answers, ttls = [], []
        for index, rr_type in enumerate(self.rr_types[: self.answer_count]):
            name = RDATA_FIELD.get(rr_type)
            queue = queues.get(name) if name else None
            value = queue.pop(0) if queue else f"<{QTYPES.get(rr_type, rr_type)}>"
            answers.append(value)
            if index < len(self.ttls):
                ttls.append(float(self.ttls[index]))
        return answers, ttls


class DnsLog:
    def __init__(self, object_id: int) -> None:
        self.object_id = object_id
        self.pending: dict[tuple[str, int | None], tuple[Conn, DnsMessage]] = {}

    def message(self, conn: Conn, msg: DnsMessage) -> tuple | None:
        """A finished row when this message completes one, else None."""
        key = (conn.uid, msg.trans_id)
        if not msg.is_response:
            previous = self.pending.pop(key, None)
            self.pending[key] = (conn, msg)
            return self._row(*previous, None) if previous else None
        query = self.pending.pop(key, None)
        if query is None:
            return self._row(conn, msg, msg)
        return self._row(query[0], query[1], msg)

    def expired(self, now: float) -> list[tuple]:
        old = [k for k, (_, msg) in self.pending.items() if now - msg.ts > PENDING_TIMEOUT]
        return [self._row(*self.pending.pop(k), None) for k in old]

    def remaining(self) -> list[tuple]:
        rows = [self._row(conn, msg, None) for conn, msg in self.pending.values()]
        self.pending = {}
        return rows

    def _row(self, conn: Conn, first: DnsMessage, response: DnsMessage | None) -> tuple:
        answers, ttls = response.answers() if response else (None, None)
        qtype = first.qtype if first.qtype is not None else None
        rcode = response.rcode if response else None
        return (
            self.object_id, epoch_to_datetime(first.ts), conn.uid,
            conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p, conn.proto,
            first.trans_id, first.query.translate(_ASCII_LOWER) if first.query else None, QTYPES.get(qtype, str(qtype)) if qtype is not None else None,
            RCODES.get(rcode, str(rcode)) if rcode is not None else None,
            answers or None, ttls or None, conn.community_id(),
        )  # fmt: skip
