"""`make bench-pcap` (second part): a capture of sessions replayed on the
same ports and sequence numbers, which tshark folds together.

The red team's capture (bench/pcap_gen.py): 92 HTTP sessions, each replayed
60 times two hours apart (55,200 packets, 5,520 connections). Measured in
one run, each a call of `dissect` in this process (no database, no Prefect):
- netsift as it is: every replay in one extra tshark pass (synthetic addresses);
- the same capture MPLS-labelled, a framing netsift does not rewrite: a
  pass per replay of the most replayed flow, as every capture had before;
- a bare `tshark -r FILE -T fields` pass with the same fields (the baseline);
- the sessions replayed 200 times (18,400 connections), past the 64 extra
  passes that once made such a capture partial.
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.pcap import run_bare_tshark
from bench.pcap_gen import write_repeated_sessions
from netsift.capture.dissect import Limits, capture_info, dissect
from netsift.settings import Settings

OUT = Path(__file__).resolve().parent / "out"


def capture(name: str, times: int, mpls: bool = False) -> Path:
    path = OUT / f"repeats-{name}.pcap"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        write_repeated_sessions(path, flows=92, times=times, gap=7200, mpls=mpls)
    return path


def run_dissect(path: Path) -> tuple[float, dict[str, int], str | None]:
    info = capture_info(path)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for table, _ in dissect(path, 1, info, Limits.from_settings(Settings(), timeout=1800)):
        counts[table] = counts.get(table, 0) + 1
    return time.perf_counter() - started, counts, info.partial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    red_team, per_repeat, many = capture("92x60", 60), capture("92x60-mpls", 60, mpls=True), capture("92x200", 200)
    bare_s = run_bare_tshark(red_team)
    one_s, rows, partial = run_dissect(red_team)
    per_s, per_rows, per_partial = run_dissect(per_repeat)
    many_s, many_rows, many_partial = run_dissect(many)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"red team capture, 92 sessions x 60, 55,200 packets; rows {rows}, partial: {partial}")
    print(f"bare tshark -T fields, same fields          {bare_s:>7.1f} s")
    print(f"netsift, all replays in one extra pass     {one_s:>7.1f} s  ({one_s / bare_s:.1f}x bare tshark)")
    print(f"netsift, a pass per replay (MPLS framing)  {per_s:>7.1f} s  ({per_s / bare_s:.1f}x bare tshark); "
          f"rows {per_rows}, partial: {per_partial}")  # fmt: skip
    print(f"one pass / per-replay passes               {one_s / per_s:>7.2f}  ({per_s / one_s:.1f}x faster)")
    print(f"92 sessions x 200 (184,000 packets)        {many_s:>7.1f} s; rows {many_rows}, partial: {many_partial}")


if __name__ == "__main__":
    main()
