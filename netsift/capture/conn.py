"""Connections as Zeek's conn.log has them, built from per-packet fields.

Orientation, byte counts and `conn_state` follow Zeek's definitions
(base/protocols/conn/main.zeek), so analysts' Zeek habits carry over:
`orig_bytes` counts TCP payload from sequence numbers, not packet sizes, and
the state comes from each endpoint's TCP state machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

import communityid

# Endpoint states, as Zeek names them.
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
# Zeek's defaults (init-bare.zeek); base/protocols/conn/inactivity.zeek gives
# interactive services an hour: FTP, SSH, telnet, rlogin, by port or by service.
INACTIVITY_TIMEOUT = {"tcp": 300.0, "udp": 60.0, "icmp": 60.0}
INTERACTIVE_TIMEOUT = 3600.0
INTERACTIVE_PORTS = frozenset({21, 22, 23, 513})
INTERACTIVE_SERVICES = frozenset({"ftp", "ssh"})
START_BYTES = 16

# Ports a server listens on: a first packet *from* one of these is a reply.
SERVER_PORTS = frozenset({
    20, 21, 22, 23, 25, 53, 67, 69, 80, 88, 110, 111, 123, 135, 137, 138, 139, 143, 161,
    389, 443, 445, 465, 514, 587, 636, 993, 995, 1433, 1521, 1900, 3306, 3389, 5060,
    5353, 5355, 5432, 6379, 8000, 8008, 8080, 8443, 8888, 9200, 27017,
    2123, 2152, 3544, 4011, 4754, 4789, 5072, 6081,  # Zeek's UDP tunnel and PXE ports
})  # fmt: skip

# tshark protocol names -> Zeek service names.
SERVICES = {
    "http": "http", "dns": "dns", "tls": "ssl", "ssh": "ssh", "smtp": "smtp", "ftp": "ftp",
    "dhcp": "dhcp", "ntp": "ntp", "irc": "irc", "pop": "pop3", "imap": "imap", "sip": "sip",
    "snmp": "snmp", "kerberos": "krb", "smb": "smb", "smb2": "smb", "rdp": "rdp",
    "mysql": "mysql", "radius": "radius", "dcerpc": "dce_rpc", "quic": "quic",
    "nbns": "dns", "mdns": "dns", "llmnr": "dns",
}  # fmt: skip

# ICMP types that answer another (Zeek's ICMP4_counterpart, ICMP6_counterpart):
# a reply joins its request's connection, and the pair's other type is the
# connection's resp_p; a one-way type's resp_p is its code.
_ICMP4_PAIRS = ((8, 0), (13, 14), (15, 16), (10, 9), (17, 18))
_ICMP6_PAIRS = ((128, 129), (133, 134), (135, 136), (130, 131), (139, 140), (144, 145))
_ICMP_COUNTERPART = {
    family: {**{a: b for a, b in pairs}, **{b: a for a, b in pairs}}
    for family, pairs in (("ip", _ICMP4_PAIRS), ("ipv6", _ICMP6_PAIRS))
}
BROADCAST = "255.255.255.255"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(slots=True)
class Endpoint:
    state: int = INACTIVE
    pkts: int = 0
    size: int = 0  # UDP/ICMP payload bytes
    seq_base: int | None = None
    seq_span: int = 0  # highest payload offset past seq_base, TCP
    sent_syn: bool = False
    sent_synack: bool = False
    sent_ack_only: bool = False
    sent_fin: bool = False
    prev_state: int = INACTIVE
    did_close: bool = False  # its FIN or RST closed it, as Zeek's TCP_Endpoint::did_close

    def move(self, state: int) -> None:
        self.prev_state, self.state = self.state, state

    def tcp_bytes(self) -> int:
        return self.seq_span


@dataclass(slots=True)
class Conn:
    proto: str
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    uid: str
    first_ts: float
    last_ts: float
    orig: Endpoint = field(default_factory=Endpoint)
    resp: Endpoint = field(default_factory=Endpoint)
    services: set = field(default_factory=set)
    history_first_syn: bool = False
    start: bytes = b""  # the originator's first payload bytes, for content-based detection
    # 0, or n when tshark folded this connection into its n-th predecessor on
    # the same ports (same tcp.stream): its HTTP needs another tshark pass (folds.py).
    refold: int = 0
    _community_id: str | None = None

    def timeout(self) -> float:
        """Seconds of silence after which Zeek ends this connection."""
        if self.proto == "tcp" and (
            self.resp_p in INTERACTIVE_PORTS or not self.services.isdisjoint(INTERACTIVE_SERVICES)
        ):
            return INTERACTIVE_TIMEOUT
        return INACTIVITY_TIMEOUT.get(self.proto, 60.0)

    def community_id(self) -> str | None:
        """Community ID v1, computed once per connection (its DNS and HTTP rows share it)."""
        if self._community_id is None:
            self._community_id = community_id(self.proto, self.orig_h, self.orig_p, self.resp_h, self.resp_p)
        return self._community_id or None

    def state(self) -> str:
        """Zeek's conn_state (base/protocols/conn/main.zeek)."""
        if self.proto == "tcp":
            return tcp_conn_state(self.orig, self.resp, self.history_first_syn)
        if self.proto == "udp":
            if self.orig.pkts:
                return "SF" if self.resp.pkts else "S0"
            return "SHR" if self.resp.pkts else "OTH"
        return "OTH"

    def row(self, object_id: int) -> tuple:
        duration = round(self.last_ts - self.first_ts, 6)
        if duration <= 0:
            # Zeek's set_conn: duration and sizes only when the duration is > 0
            duration = orig_bytes = resp_bytes = None
        elif self.proto == "tcp":
            orig_bytes, resp_bytes = self.orig.tcp_bytes(), self.resp.tcp_bytes()
        else:
            orig_bytes, resp_bytes = self.orig.size, self.resp.size
        services = ",".join(sorted(self.services)) or None
        return (
            object_id, epoch_to_datetime(self.first_ts), self.uid,
            self.orig_h, self.orig_p, self.resp_h, self.resp_p, self.proto, services,
            duration, orig_bytes, resp_bytes,
            self.orig.pkts, self.resp.pkts, self.state(), self.community_id(),
        )  # fmt: skip


CONNECTION_COLUMNS = (
    "source_object_id", "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto",
    "service", "duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "conn_state",
    "community_id",
)  # fmt: skip
_COMMUNITY_ID = communityid.CommunityID()  # seed 0, base64: what Zeek, Suricata and Elastic use


def community_id(proto: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int) -> str:
    """Community ID v1 of a flow ("" when the addresses do not parse). For
    ICMP the ports are type and code, as Zeek stores them; the library maps
    a reply to its request's flow."""
    try:
        if proto == "tcp":
            flow = communityid.FlowTuple.make_tcp(orig_h, resp_h, orig_p, resp_p)
        elif proto == "udp":
            flow = communityid.FlowTuple.make_udp(orig_h, resp_h, orig_p, resp_p)
        elif ":" in orig_h:
            flow = communityid.FlowTuple.make_icmp6(orig_h, resp_h, orig_p, resp_p)
        else:
            flow = communityid.FlowTuple.make_icmp(orig_h, resp_h, orig_p, resp_p)
        return _COMMUNITY_ID.calc(flow) or ""
    except (communityid.Error, ValueError, TypeError):
        return ""


@lru_cache(maxsize=4096)
def services_of(protocols: str) -> frozenset[str]:
    """Zeek's service names for tshark's `frame.protocols` (eth:ethertype:ip:…);
    a capture has few distinct ones, so each is read once."""
    return frozenset(SERVICES[name] for name in protocols.split(":")[2:] if name in SERVICES)


def tcp_conn_state(o: Endpoint, r: Endpoint, starts_with_syn: bool) -> str:
    """Zeek's conn_state for TCP, from the two endpoints' states."""
    o_inactive = o.state in (INACTIVE, PARTIAL)
    r_inactive = r.state in (INACTIVE, PARTIAL)
    if r.state == RESET:
        if o.state in (SYN_SENT, SYN_ACK_SENT) or (
            o.state == RESET and o.seq_span == 0 and r.seq_span == 0
        ):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if o.state == RESET:
        if r_inactive:
            # Zeek: history matches ^S[^HAFGIQ]*R (a SYN, nothing back, then RST)
            if starts_with_syn and not r.sent_synack and not o.sent_ack_only and not o.sent_fin:
                return "RSTOS0"
            return "OTH"
        return "RSTO"
    if r.state == CLOSED and o.state == CLOSED:
        return "SF"
    if o.state == CLOSED:
        return "SH" if r_inactive else "S2"
    if r.state == CLOSED:
        return "SHR" if o_inactive else "S3"
    if o.state == SYN_SENT and r.state == INACTIVE:
        return "S0"
    if o.state == ESTABLISHED and r.state == ESTABLISHED:
        return "S1"
    return "OTH"


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def make_uid(salt: str, key: tuple, first_ts: float) -> str:
    """Deterministic, Zeek-shaped: reloading a capture gives the same uids."""
    digest = hashlib.blake2b(f"{salt}|{key}|{first_ts:.6f}".encode(), digest_size=13).digest()
    number, chars = int.from_bytes(digest, "big"), []
    while len(chars) < 17:
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "C" + "".join(chars)


class ConnTracker:
    """Follows every flow of one capture; `packet` returns its Conn."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self.active: dict[tuple, Conn] = {}
        self.ended: list[Conn] = []  # ended by a later packet of their flow; taken by the caller
        self._last_stream = -1  # tshark numbers TCP conversations in first-seen order
        self._folds: dict[int, int] = {}  # tcp.stream -> connections tshark folded into it

    def packet(
        self, proto: str, src: str, sport: int, dst: str, dport: int, ts: float, *,
        flags: int = 0, seq: int | None = None, tcp_len: int = 0, payload: int = 0,
        is_reply: bool = False, protocols: str = "", head: bytes = b"", stream: int | None = None,
    ) -> tuple[Conn, bool]:  # fmt: skip
        """The packet's connection and whether the packet went orig -> resp.

        As Zeek, a flow idle past its inactivity timeout, or a closed TCP
        connection receiving a new SYN, starts a new connection (the old one
        goes to `ended`). tshark keys conversations on the ports alone and
        folds such a repeat into the old one when the sequence numbers are
        the same (as retransmissions): `refold` marks it.
        """
        if proto == "icmp":
            counterpart = _ICMP_COUNTERPART["ipv6" if ":" in src else "ip"].get(sport)
            kind = sport if counterpart is None else min(sport, counterpart)
            key, back = ("icmp", src, kind, dst, 0), ("icmp", dst, kind, src, 0)
        elif proto == "unknown_transport":  # sport: the IP protocol number
            key, back = (proto, src, sport, dst, 0), (proto, dst, sport, src, 0)
        else:
            key, back = (proto, src, sport, dst, dport), (proto, dst, dport, src, sport)
        conn = self.active.get(key)
        forward = True
        if conn is None:
            conn = self.active.get(back)
            forward = False
        if conn is not None and (ts - conn.last_ts > conn.timeout() or _is_reuse(conn, forward, flags, seq)):
            self.ended.append(self.active.pop(key if forward else back))
            conn = None
        if conn is None:
            flip = self._is_reply(proto, sport, dport, flags, is_reply, dst)
            stored = back if flip else key
            forward = not flip
            orig = (dst, dport, src, sport) if flip else (src, sport, dst, dport)
            conn = Conn(proto, *orig, uid=make_uid(self.salt, stored, ts), first_ts=ts, last_ts=ts)
            if proto == "icmp":  # Zeek: the type, and its counterpart or the code
                conn.orig_p, conn.resp_p = sport, dport if counterpart is None else counterpart
            elif proto == "unknown_transport":
                conn.orig_p = conn.resp_p = 0
            conn.history_first_syn = forward and bool(flags & SYN) and not flags & ACK
            if stream is not None:
                if stream <= self._last_stream:
                    conn.refold = self._folds[stream] = self._folds.get(stream, 0) + 1
                else:
                    self._last_stream = stream
            self.active[stored] = conn
        if not (conn.orig.did_close and conn.resp.did_close):  # Zeek stops the clock then
            conn.last_ts = max(conn.last_ts, ts)
        sender, peer = (conn.orig, conn.resp) if forward else (conn.resp, conn.orig)
        sender.pkts += 1
        if proto == "tcp":
            _tcp_update(sender, peer, flags, seq, tcp_len, forward)
            if forward and head and len(conn.start) < START_BYTES and sender.seq_base is not None:
                if (seq - sender.seq_base) & 0xFFFFFFFF == len(conn.start):
                    conn.start += head[: START_BYTES - len(conn.start)]
        else:
            sender.size += max(payload, 0)
        conn.services.update(services_of(protocols))
        return conn, forward

    @staticmethod
    def _is_reply(proto, sport, dport, flags, is_reply, dst) -> bool:
        if proto == "tcp" and flags & SYN:
            return bool(flags & ACK)  # a SYN-ACK seen first: its sender is the responder
        if is_reply:
            return True
        if proto not in ("tcp", "udp") or dst == BROADCAST:  # Zeek never makes a broadcast the originator
            return False
        return sport in SERVER_PORTS and dport not in SERVER_PORTS

    def expired(self, now: float) -> list[Conn]:
        """Connections idle past Zeek's inactivity timeouts, removed."""
        gone = [key for key, conn in self.active.items() if now - conn.last_ts > conn.timeout()]
        return [self.active.pop(key) for key in gone]

    def remaining(self) -> list[Conn]:
        conns, self.active = list(self.active.values()), {}
        return conns


def _is_reuse(conn: Conn, forward: bool, flags: int, seq: int | None) -> bool:
    """Zeek's TCP connection reuse: an initial SYN on a connection that has
    closed (FIN or RST), or one whose sequence number differs from the
    originator's first SYN."""
    if conn.proto != "tcp" or not flags & SYN or flags & ACK:
        return False
    if CLOSED in (conn.orig.state, conn.resp.state) or RESET in (conn.orig.state, conn.resp.state):
        return True
    origin = conn.orig if forward else conn.resp
    return origin.sent_syn and seq is not None and (seq + 1) & 0xFFFFFFFF != origin.seq_base


def _tcp_update(sender: Endpoint, peer: Endpoint, flags: int, seq: int | None, length: int,
                is_orig: bool) -> None:  # fmt: skip
    if seq is not None:
        if flags & SYN:
            sender.seq_base = (seq + 1) & 0xFFFFFFFF
        elif sender.seq_base is None:
            sender.seq_base = seq
        if length and sender.seq_base is not None:
            span = (seq + length - sender.seq_base) & 0xFFFFFFFF
            if span < 0x80000000:  # ignore data from before the base (old retransmissions)
                sender.seq_span = max(sender.seq_span, span)
    if not flags & (SYN | FIN | RST) and sender.state == ESTABLISHED:
        sender.sent_ack_only = True  # most packets: no state to change
        return
    if flags & SYN:
        if flags & ACK:
            sender.sent_synack = True
        else:
            sender.sent_syn = True
    elif not flags & (FIN | RST):
        sender.sent_ack_only = True
    if flags & FIN:
        sender.sent_fin = True
    if _tcp_transition(sender, peer, flags, length, is_orig):
        sender.did_close = True


def _closed_or_reset(sender: Endpoint, flags: int) -> bool:
    """A FIN closes the sender's side and a RST resets it (a RST wins when both
    come); True when either came."""
    if flags & FIN:
        sender.move(CLOSED)
    if flags & RST:
        sender.move(RESET)
    return bool(flags & (FIN | RST))


def _tcp_transition(sender: Endpoint, peer: Endpoint, flags: int, length: int, is_orig: bool) -> bool:
    """Zeek's TCP endpoint state machine (TCPSessionAdapter::UpdateStateMachine);
    True when the packet closes the sender's side."""
    state, close = sender.state, False
    if state == INACTIVE:
        if flags & SYN:
            if is_orig:
                sender.move(SYN_ACK_SENT if flags & ACK else SYN_SENT)
            else:  # the responder's SYN(-ACK) establishes both sides
                if peer.state == SYN_SENT:
                    peer.move(ESTABLISHED)
                sender.move(ESTABLISHED)
        close = _closed_or_reset(sender, flags)
        if sender.state == INACTIVE:
            if not is_orig and length == 0 and peer.state == SYN_SENT:
                pass  # an ACK of the SYN before the SYN-ACK: not yet a partial connection
            elif flags & ACK and peer.state == ESTABLISHED:
                sender.move(ESTABLISHED)  # the SYN was missed, its SYN-ACK seen
            else:
                sender.move(PARTIAL)
    elif state in (SYN_SENT, SYN_ACK_SENT):
        close = _closed_or_reset(sender, flags)
    elif state in (ESTABLISHED, PARTIAL):
        if flags & SYN and not flags & ACK and state == PARTIAL and peer.state == INACTIVE:
            sender.move(SYN_SENT)
        if flags & FIN and not flags & RST:
            sender.move(CLOSED)
            if peer.state == RESET and peer.prev_state == CLOSED:
                peer.move(CLOSED)  # the peer's FIN then RST: a normal close after all
            close = True
        if flags & RST:
            sender.move(RESET)
            close = True
    elif state == CLOSED and flags & RST and peer.state != CLOSED:
        sender.move(RESET)  # after a FIN exchange a RST changes nothing
        close = True
    return close
