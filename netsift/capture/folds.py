"""Sessions tshark folded together, given back their own dissection in a
bounded number of extra tshark passes.

tshark keys TCP conversations on addresses and ports, so a session replayed
hours later on the same ports with the same sequence numbers is read as
retransmissions of the first and its HTTP is lost. The main pass collects
such replays (`Conn.refold`); here their frames are copied into one capture
with each replay's originator given an address of its own (readdress.py),
so one pass dissects every replay however many there are. A replay whose
frames cannot be rewritten (a framing not read there) falls back to what
was done for all before: a pass per fold (the n-th replay of every flow),
its frames copied as they are.

Which ports are decoded as HTTP follows the per-fold rule exactly (a port is
decoded for a fold when a replay in it opened with an HTTP request, at most
64 ports a fold), so rows do not depend on which way a replay was dissected.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from netsift.capture.conn import Conn
from netsift.capture.http import HTTP_METHODS
from netsift.capture.pcapfile import write_frames
from netsift.capture.readdress import IPV4_SYNTHETIC, Readdress, SyntheticAddresses, packed, text

DECODED_PORTS = 64  # ports decoded as HTTP in one pass: tshark's argument list stays short
PASS_CONNS = IPV4_SYNTHETIC // 2  # replays in one pass: each avoided address costs one more

Flow = tuple[str, int, str, int]  # orig_h, orig_p, resp_h, resp_p


@dataclass
class FoldPass:
    """One extra tshark pass: its capture, the flows as that capture has
    them (each a replay), and the ports it decodes as HTTP."""

    capture: Path
    flows: dict[Flow, Conn]
    ports: list[int]


@dataclass
class FoldedSessions:
    """The replays tshark folded, with their frames (tshark's numbers)."""

    conns: list[Conn] = field(default_factory=list)
    frames: array = field(default_factory=lambda: array("Q"))
    owners: array = field(default_factory=lambda: array("L"))  # index into conns, per frame
    unpassed: list[Conn] = field(default_factory=list)  # left without a pass: over the limit
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, conn: Conn, frame: int) -> None:
        index = self._index.get(conn.uid)
        if index is None:
            index = self._index[conn.uid] = len(self.conns)
            self.conns.append(conn)
        self.frames.append(frame)
        self.owners.append(index)

    def __bool__(self) -> bool:
        return bool(self.conns)

    def passes(self, capture: Path, scratch: Path, max_passes: int) -> Iterator[FoldPass]:
        """The extra passes, each capture written into `scratch` (ours,
        private) and removed once the pass is read; at most `max_passes`,
        the replays beyond them go to `unpassed`."""
        decoded = self._decoded()
        budget, failed = max_passes, set()
        for group in self._groups(decoded):
            if budget <= 0:
                self.unpassed += [self.conns[i] for i in group]
                continue
            part = scratch / "folds.pcap"
            flows = self._write_readdressed(capture, part, group, failed)
            kept = {flow: self.conns[i] for flow, i in flows.items() if i not in failed}
            if kept:  # else nothing was rewritten (another framing): no pass spent on it
                budget -= 1
                yield FoldPass(part, kept, _ports(self.conns[i] for i in group if decoded[i]))
            part.unlink()
        by_fold: dict[int, list[int]] = {}
        for i in sorted(failed):
            by_fold.setdefault(self.conns[i].refold, []).append(i)
        for fold in sorted(by_fold):
            members = by_fold[fold]
            if budget <= 0:
                self.unpassed += [self.conns[i] for i in members]
                continue
            budget -= 1
            part = scratch / "fold.pcap"
            wanted = set(members)
            frames = (f for f, owner in zip(self.frames, self.owners) if owner in wanted)
            write_frames(capture, part, frames)
            conns = [self.conns[i] for i in members]
            yield FoldPass(part, {(c.orig_h, c.orig_p, c.resp_h, c.resp_p): c for c in conns},
                           _ports(self.conns[i] for i in members if decoded[i]))  # fmt: skip
            part.unlink()

    def _write_readdressed(self, capture: Path, part: Path, group: list[int],
                           failed: set[int]) -> dict[Flow, int]:  # fmt: skip
        """Copy the group's frames into `part`, each replay's originator
        given a synthetic address; returns the flows the copy shows. A
        replay whose addresses do not parse or are its own peer's, beyond
        the synthetic IPv4 addresses, or with a frame not rewritten joins `failed` (its frames
        still copied are those of a flow no other replay has)."""
        addresses = SyntheticAddresses({a for i in group if (a := packed(self.conns[i].resp_h))})
        rewrites: dict[int, Readdress] = {}
        flows: dict[Flow, int] = {}
        for i in group:
            conn = self.conns[i]
            orig, resp = packed(conn.orig_h), packed(conn.resp_h)
            # a flow from an address and port to themselves has no direction to tell apart
            distinct = (orig and resp and len(orig) == len(resp)
                        and (orig, conn.orig_p) != (resp, conn.resp_p))  # fmt: skip
            synthetic = addresses.replacing(orig) if distinct else None
            if synthetic is None:
                failed.add(i)
                continue
            rewrites[i] = Readdress(orig, conn.orig_p, resp, conn.resp_p, synthetic)
            flows[(text(synthetic), conn.orig_p, conn.resp_h, conn.resp_p)] = i
        frames, owners = array("Q"), array("L")
        for frame, owner in zip(self.frames, self.owners):
            if owner in rewrites:
                frames.append(frame)
                owners.append(owner)

        def edit(position: int, link_type: int, packet: memoryview) -> bool:
            owner = owners[position]
            if owner in failed:
                return False
            if not rewrites[owner].apply(link_type, packet):
                failed.add(owner)
                return False
            return True

        write_frames(capture, part, frames, edit)
        return flows

    def _decoded(self) -> list[bool]:
        """Per replay: is its port decoded as HTTP, by the per-fold rule."""
        opened: dict[int, set[int]] = {}
        for conn in self.conns:
            if conn.start.startswith(HTTP_METHODS):
                opened.setdefault(conn.refold, set()).add(conn.resp_p)
        ports = {fold: set(sorted(found)[:DECODED_PORTS]) for fold, found in opened.items()}
        return [conn.resp_p in ports.get(conn.refold, ()) for conn in self.conns]

    def _groups(self, decoded: list[bool]) -> Iterator[list[int]]:
        """Replays sharing passes: those decoded as HTTP, by their ports (64
        a pass), with those on ports no replay decodes; apart, those whose
        port another fold decodes; each group cut at PASS_CONNS."""
        decoded_ports = sorted({c.resp_p for c, d in zip(self.conns, decoded) if d})
        chunk_of = {port: n // DECODED_PORTS for n, port in enumerate(decoded_ports)}
        chunks: dict[int, list[int]] = {}
        for i, conn in enumerate(self.conns):
            if decoded[i]:
                chunks.setdefault(chunk_of[conn.resp_p], []).append(i)
            else:
                chunks.setdefault(-1 if conn.resp_p in chunk_of else 0, []).append(i)
        for key in sorted(chunks, key=lambda k: (k < 0, k)):
            members = chunks[key]
            for start in range(0, len(members), PASS_CONNS):
                yield members[start : start + PASS_CONNS]


def _ports(conns: Iterator[Conn]) -> list[int]:
    return sorted({conn.resp_p for conn in conns})
