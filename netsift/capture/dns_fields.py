"""The DNS and NetBIOS name service fields of tshark's rows, made DnsMessages.

tshark dissects NBNS (udp/137) under its own field names, and writes some
answer data in pieces (SRV owners, TXT strings, DNSSEC records) that Zeek
writes as one text; both are put back together here.
"""

from __future__ import annotations

from netsift.capture.dns import RDATA_FIELD, DnsMessage
from netsift.capture.fields import first as _first, integer as _int, text as _text, values as _list

# dns.RDATA_FIELD's names -> the tshark fields holding that answer data
RDATA_TSHARK = {"a": "dns.a", "aaaa": "dns.aaaa", "cname": "dns.cname",
                "ptr": "dns.ptr.domain_name", "ns": "dns.ns", "mx": "dns.mx.mail_exchange",
                "srv": "dns.srv.target", "soa": "dns.soa.mname"}  # fmt: skip
FORMATTED = ("txt", "spf", "rrsig", "dnskey", "ds")  # built by _formatted_answers
assert set(RDATA_TSHARK) | set(FORMATTED) == set(RDATA_FIELD.values())
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

DNS_FIELDS = (
    "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode",
    "dns.count.answers", "dns.resp.type", "dns.resp.ttl", *RDATA_TSHARK.values(),
    "dns.flags.opcode", "dns.resp.name", "dns.resp.len", "dns.txt", "dns.txt.length", "dns.spf",
    "dns.spf.length", "dns.rrsig.type_covered", "dns.rrsig.signers_name", "dns.dnskey.algorithm",
    "dns.ds.algorithm", "dns.ds.digest_type", "dns.srv.service", "dns.srv.proto", "dns.srv.name",
    "nbns.id", "nbns.flags.response", "nbns.flags.opcode", "nbns.flags.rcode", "nbns.count.queries",
    "nbns.count.answers", "nbns.name", "nbns.type", "nbns.ttl",
)  # fmt: skip
F = {name: index for index, name in enumerate(DNS_FIELDS)}  # indexes into a row's DNS slice
_RDATA = {name: F[tshark_name] for name, tshark_name in RDATA_TSHARK.items()}


def has_dns(f: list[bytes]) -> bool:
    return bool(f[F["dns.id"]] or f[F["nbns.id"]])


def is_response(f: list[bytes]) -> bool:
    flag = _first(f[F["dns.flags.response"]]) or _first(f[F["nbns.flags.response"]])
    return flag in (b"1", b"True")


def dns_message(f: list[bytes], ts: float) -> DnsMessage:
    if not f[F["dns.id"]]:
        return _nbns_message(f, ts)
    return DnsMessage(
        ts=ts,
        trans_id=_int(f[F["dns.id"]]),
        is_response=is_response(f),
        query=_text(_first(f[F["dns.qry.name"]])),
        qtype=_int(f[F["dns.qry.type"]]),
        rcode=_int(f[F["dns.flags.rcode"]]),
        answer_count=_int(f[F["dns.count.answers"]]) or 0,
        rr_types=[int(t) for t in f[F["dns.resp.type"]].split(b"\x1f") if t.isdigit()],
        ttls=[t.decode() for t in f[F["dns.resp.ttl"]].split(b"\x1f") if t.isdigit()],
        rdata={**{name: _list(f[index]) for name, index in _RDATA.items()}, **_formatted_answers(f)},
        opcode=_int(f[F["dns.flags.opcode"]]) or 0,
        rr_names=_first_record_name(f),
    )


def _formatted_answers(f: list[bytes]) -> dict[str, list[str]]:
    """Answer data Zeek writes as text of its own (base/protocols/dns/main.zeek)."""
    rrsig = zip(_list(f[F["dns.rrsig.type_covered"]]), _list(f[F["dns.rrsig.signers_name"]]))
    ds = zip(_list(f[F["dns.ds.algorithm"]]), _list(f[F["dns.ds.digest_type"]]))
    return {
        "txt": _strings_answers(f, "16", "TXT", "dns.txt"),
        "spf": _strings_answers(f, "99", "SPF", "dns.spf"),
        "rrsig": [f"RRSIG {covered} {signer.translate(_LOWER) or '<Root>'}" for covered, signer in rrsig],
        "dnskey": [f"DNSKEY {algorithm}" for algorithm in _list(f[F["dns.dnskey.algorithm"]])],
        "ds": [f"DS {algorithm} {digest}" for algorithm, digest in ds],
    }


def _strings_answers(f: list[bytes], rr_type: str, label: str, field: str) -> list[str]:
    """Each TXT (or SPF) record as Zeek writes it, "TXT <length> <string>"
    per string, space-joined. tshark lists all strings of all records in one
    run: a record's strings are those filling its rdlength (1 + length each)."""
    strings, lengths = _list(f[F[field]]), _list(f[F[field + ".length"]])
    if not strings:
        return []
    types, rdlengths = _list(f[F["dns.resp.type"]]), _list(f[F["dns.resp.len"]])
    records, at = [], 0
    for record_type, rdlength in zip(types, rdlengths):
        if record_type != rr_type or not rdlength.isdigit():
            continue
        parts, used = [], 0
        while used < int(rdlength) and at < len(strings):
            length = int(lengths[at]) if at < len(lengths) and lengths[at].isdigit() else len(strings[at])
            parts.append(f"{label} {length} {strings[at]}")
            used, at = used + 1 + length, at + 1
        records.append(" ".join(parts))
    return records


def _first_record_name(f: list[bytes]) -> list[str]:
    """The first record's owner name. tshark lists no `dns.resp.name` for an
    SRV record: it splits the owner into service, proto and name."""
    types = f[F["dns.resp.type"]]
    if _first(types) == b"33":
        parts = [_text(_first(f[F[name]])) for name in ("dns.srv.service", "dns.srv.proto", "dns.srv.name")]
        return [".".join(part for part in parts if part)]
    return _list(_first(f[F["dns.resp.name"]]))


def _nbns_message(f: list[bytes], ts: float) -> DnsMessage:
    """NetBIOS name service: DNS's wire format, which tshark dissects under
    its own field names; questions and records share `nbns.name`/`nbns.type`."""
    names, types = _list(f[F["nbns.name"]]), [int(t) for t in f[F["nbns.type"]].split(b"\x1f") if t.isdigit()]
    questions = _int(f[F["nbns.count.queries"]]) or 0
    return DnsMessage(
        ts=ts,
        trans_id=_int(f[F["nbns.id"]]),
        is_response=is_response(f),
        query=names[0] if questions and names else None,
        qtype=types[0] if questions and types else None,
        rcode=_int(f[F["nbns.flags.rcode"]]),
        answer_count=_int(f[F["nbns.count.answers"]]) or 0,
        rr_types=types[questions:],
        ttls=[t.decode() for t in f[F["nbns.ttl"]].split(b"\x1f") if t.isdigit()],
        rdata={},
        opcode=_int(f[F["nbns.flags.opcode"]]) or 0,
        rr_names=names[questions:],
        netbios=True,
    )
