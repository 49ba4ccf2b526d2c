"""Synthetic addresses that pull apart sessions tshark folded together.

A session replayed on the same ports with the same sequence numbers looks to
tshark like retransmissions of the first (it keys TCP conversations on
addresses and ports). Copied into a capture with the originator's address
replaced by one unique to each replay, the replays are distinct
conversations again, and one tshark pass dissects them all.

A replacement address has the same one's-complement sum as the address it
replaces, so the IPv4 header checksum and the TCP checksum (whose
pseudo-header holds both addresses) stay exactly as valid or invalid as
they were: nothing is recomputed, no payload is read, and tshark dissects
the copy as it dissected the original even where checksums are verified.

Only headers are read, each length checked: the link header (Ethernet with
any VLAN tags, raw IP, BSD loopback, Linux cooked v1/v2), then the first IP
header, which must carry TCP itself, with the connection's own addresses
and ports. Anything else (tunnels, MPLS, other link types) is refused, and
its session keeps a tshark pass of its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterator

ETHERNET, RAW, LINUX_SLL, IPV4_LINK, IPV6_LINK, LINUX_SLL2, NULL = 1, 101, 113, 228, 229, 276, 0
ETHERTYPES_IP = (b"\x08\x00", b"\x86\xdd")
VLAN_TAGS = (b"\x81\x00", b"\x88\xa8", b"\x91\x00")  # 802.1Q, 802.1ad, the older QinQ
MAX_VLAN_TAGS = 4
BSD_FAMILIES = (2, 24, 28, 30)  # AF_INET; AF_INET6 as the BSDs number it
TCP = 6
IPV6_OPTION_HEADERS = (0, 60)  # hop-by-hop and destination options: stepped over to reach TCP
MAX_IPV6_OPTION_HEADERS = 4


def ip_offset(link_type: int, packet: memoryview) -> int | None:
    """Where the first IP header starts in a frame, or None when the link
    header is one not read here or names another protocol."""
    if link_type == ETHERNET:
        offset = 12
        for _ in range(MAX_VLAN_TAGS + 1):
            kind = bytes(packet[offset : offset + 2])
            if kind in VLAN_TAGS:
                offset += 4
                continue
            return offset + 2 if kind in ETHERTYPES_IP else None
        return None
    if link_type in (RAW, IPV4_LINK, IPV6_LINK):
        return 0
    if link_type == NULL:
        family = bytes(packet[:4])
        known = len(family) == 4 and any(  # in the capturing host's byte order
            int.from_bytes(family, order) in BSD_FAMILIES for order in ("little", "big")
        )
        return 4 if known else None
    if link_type == LINUX_SLL:
        return 16 if bytes(packet[14:16]) in ETHERTYPES_IP else None
    if link_type == LINUX_SLL2:
        return 20 if bytes(packet[0:2]) in ETHERTYPES_IP else None
    return None


@dataclass(frozen=True)
class TcpHeaders:
    """Where a frame's addresses sit, and its ports."""

    src: slice
    dst: slice
    sport: int
    dport: int


def tcp_headers(packet: memoryview, offset: int) -> TcpHeaders | None:
    """The addresses and ports of the IP header at `offset`, when it carries
    a TCP header (IPv4 not a later fragment; IPv6 past option headers only)."""
    head = bytes(packet[offset : offset + 40])
    if len(head) >= 20 and head[0] >> 4 == 4:
        header_len = (head[0] & 0x0F) * 4
        if header_len < 20 or head[9] != TCP or int.from_bytes(head[6:8], "big") & 0x1FFF:
            return None
        src, dst = slice(offset + 12, offset + 16), slice(offset + 16, offset + 20)
        transport = offset + header_len
    elif len(head) == 40 and head[0] >> 4 == 6:
        following, transport = head[6], offset + 40
        for _ in range(MAX_IPV6_OPTION_HEADERS):
            if following not in IPV6_OPTION_HEADERS:
                break
            option = bytes(packet[transport : transport + 2])
            if len(option) < 2:
                return None
            following, transport = option[0], transport + (option[1] + 1) * 8
        if following != TCP:
            return None
        src, dst = slice(offset + 8, offset + 24), slice(offset + 24, offset + 40)
    else:
        return None
    ports = bytes(packet[transport : transport + 4])
    if len(ports) < 4:
        return None
    return TcpHeaders(src, dst, int.from_bytes(ports[:2], "big"), int.from_bytes(ports[2:], "big"))


@dataclass(frozen=True)
class Readdress:
    """One connection's rewrite: its addresses (packed) and ports as the
    connection has them, and the originator's synthetic address."""

    orig: bytes
    orig_p: int
    resp: bytes
    resp_p: int
    synthetic: bytes

    def apply(self, link_type: int, packet: memoryview) -> bool:
        """Rewrite the frame in place; False (frame untouched) when it is
        not one of this connection's TCP frames in a framing read here."""
        offset = ip_offset(link_type, packet)
        found = tcp_headers(packet, offset) if offset is not None else None
        if found is None:
            return False
        seen = (bytes(packet[found.src]), found.sport, bytes(packet[found.dst]), found.dport)
        if seen == (self.orig, self.orig_p, self.resp, self.resp_p):
            packet[found.src] = self.synthetic
        elif seen == (self.resp, self.resp_p, self.orig, self.orig_p):
            packet[found.dst] = self.synthetic
        else:
            return False
        return True


def ones_sum(words: Iterator[int] | list[int]) -> int:
    """One's-complement sum of 16-bit words, as the Internet checksum adds."""
    total = sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _words(packed: bytes) -> list[int]:
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]


def _balancing(target: int, words: list[int]) -> int:
    """The word that brings `words`' one's-complement sum to `target`."""
    return ones_sum([target, ~ones_sum(words) & 0xFFFF])


# IPv4 replacements: first octets of ordinary unicast space (no 0/8,
# loopback, multicast or reserved), second octet free, last two balancing.
_FIRST_OCTETS = [octet for octet in range(1, 224) if octet != 127]
IPV4_SYNTHETIC = len(_FIRST_OCTETS) * 256
_IPV6_PREFIX = [0xFD6E, 0x6574]  # a unique-local prefix (fd00::/8)


class SyntheticAddresses:
    """Replacement addresses, each used once, none equal to an address in
    `avoid` (the real addresses left in the copy). IPv6 ones have no zero
    group, so tshark and Python write them alike (nothing to compress)."""

    def __init__(self, avoid: set[bytes]) -> None:
        self.avoid = avoid
        self._next_v4 = 0
        self._next_v6 = 0

    def replacing(self, real: bytes) -> bytes | None:
        """An unused address with `real`'s checksum sum; None when IPv4's run out."""
        target = ones_sum(_words(real))
        while True:
            candidate = self._ipv4(target) if len(real) == 4 else self._ipv6(target)
            if candidate is None or candidate not in self.avoid:
                return candidate

    def _ipv4(self, target: int) -> bytes | None:
        if self._next_v4 >= IPV4_SYNTHETIC:
            return None
        first, second = divmod(self._next_v4, 256)
        self._next_v4 += 1
        high = _FIRST_OCTETS[first] << 8 | second
        return high.to_bytes(2, "big") + _balancing(target, [high]).to_bytes(2, "big")

    def _ipv6(self, target: int) -> bytes:
        n, self._next_v6 = self._next_v6, self._next_v6 + 1
        counter = [0x8000 | (n >> shift) & 0x7FFF for shift in (60, 45, 30, 15, 0)]  # no zero group
        words = [*_IPV6_PREFIX, *counter]
        last = _balancing(target, words) or 0xFFFF  # the other zero of one's complement
        return b"".join(word.to_bytes(2, "big") for word in [*words, last])


def packed(address: str) -> bytes | None:
    try:
        return ipaddress.ip_address(address).packed
    except ValueError:
        return None


def text(address: bytes) -> str:
    """The address as tshark writes it."""
    return str(ipaddress.ip_address(address))
