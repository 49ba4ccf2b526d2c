"""Which of a frame's IP layers make connections, as Zeek decides it.

tshark writes every occurrence of a field, outermost first, and names the
frame's layers in `frame.protocols` (eth:ethertype:ip:udp:vxlan:eth:…). Zeek
logs a tunnelled packet's INNER flow as the connection (GRE, ERSPAN, PPTP,
IP-in-IP, 6in4) and, for tunnels carried over UDP (VXLAN, Geneve, GTP, AYIYA,
Teredo, GRE-in-UDP), the outer UDP flow as a connection too. An IP packet
whose transport Zeek has no analyzer for is an `unknown_transport`
connection. The plan for one `frame.protocols` string is the same for every
frame that has it, so it is computed once per distinct string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# UDP payloads Zeek decodes as tunnels: their inner IP packets are flows of their own.
UDP_TUNNELS = frozenset({"vxlan", "geneve", "gtp", "ayiya", "teredo", "gre"})
TRANSPORTS = frozenset({"tcp", "udp", "icmp", "icmpv6"})
# IP protocol numbers Zeek dispatches to an analyzer (base/packet-protocols/ip):
# a packet with one of these and no transport seen is a fragment or cut short,
# or a tunnel tshark could not open; any other number is `unknown_transport`.
ANALYZED_IP_PROTOCOLS = frozenset({1, 4, 6, 17, 41, 47, 58})
IPV6_FRAGMENT = 44


@dataclass(frozen=True, slots=True)
class Layer:
    """One connection-making layer: its IP header and transport, each as the
    occurrence index of its fields in tshark's row."""

    proto: str  # tcp, udp, icmp or unknown_transport
    family: str  # ip or ipv6
    ip_index: int
    index: int  # occurrence of the transport's fields (tcp.*, udp.*, icmp.* or icmpv6.*)
    hopopts: int = -1  # occurrence of this IPv6 header's hop-by-hop options, -1 without
    protocols_end: int | None = None  # a tunnel's: where its part of frame.protocols ends


@lru_cache(maxsize=4096)
def layers_of(protocols: str) -> tuple[Layer, ...]:
    """The frame's connection-making layers, outer UDP tunnels first and the
    flow itself last; () when the frame carries no IP.

    The walk stops at TCP and ICMP: an IP header after ICMP is the quoted
    packet of an error message, and after TCP a payload Zeek does not open.
    """
    seen: dict[str, int] = {}
    found: list[Layer] = []
    ip: tuple[str, int] | None = None
    hopopts = -1
    tokens = protocols.split(":")
    for position, token in enumerate(tokens):
        if token in ("ip", "ipv6"):
            ip, hopopts = (token, seen.get(token, 0)), -1
        elif token == "ipv6.hopopts" and ip is not None:
            hopopts = seen.get(token, 0)
        elif token in TRANSPORTS and ip is not None:
            proto = "icmp" if token == "icmpv6" else token
            layer = Layer(proto, ip[0], ip[1], seen.get(token, 0), hopopts)
            found.append(layer)
            tunnelled = (
                token == "udp" and position + 1 < len(tokens) and tokens[position + 1] in UDP_TUNNELS
                and any(t in ("ip", "ipv6") for t in tokens[position + 2:])
            )  # fmt: skip
            if not tunnelled:
                return tuple(found)
            end = len(":".join(tokens[: position + 2]))  # up to the tunnel's name: its service
            found[-1] = Layer(proto, ip[0], ip[1], layer.index, hopopts, end)
            ip = None
        seen[token] = seen.get(token, 0) + 1
    if ip is not None:
        found.append(Layer("unknown_transport", ip[0], ip[1], -1, hopopts))
    return tuple(found)


def is_unknown_transport(family: str, number: int | None) -> bool:
    """Whether an IP packet with no transport layer seen is Zeek's
    `unknown_transport` connection rather than a fragment or a cut packet."""
    if number is None:
        return False
    if family == "ipv6" and number == IPV6_FRAGMENT:
        return False
    return number not in ANALYZED_IP_PROTOCOLS
