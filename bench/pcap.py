"""`make bench-pcap`: netsift's capture dissection against its baselines.

Measured in one run over one generated capture (bench/pcap_gen.py: web
sessions and DNS over thousands of distinct connections):
- netsift end to end into PostgreSQL (`netsift pcap`, Prefect included; a
  tiny run is subtracted so Prefect's fixed start-up is reported apart);
- a bare `tshark -r FILE -T fields` pass extracting the same fields to /dev/null;
- pyshark's default `FileCapture` loop over the same file, bounded in time;
- netsift's peak memory (max RSS of the CLI process and its tshark children).
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.cloudfront import fresh_database
from bench.measure import run_cli
from bench.pcap_gen import write_capture
from netsift.capture.dissect import MAIN_FIELDS
from netsift.capture.tshark import field_args

OUT = Path(__file__).resolve().parent / "out"


def capture(packets: int) -> Path:
    path = OUT / f"bench-{packets}.pcap"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"generating a capture of {packets:,} packets: {path}", flush=True)
        write_capture(path, packets)
    return path


def run_netsift(path: Path, url: str) -> tuple[float, dict, int]:
    return run_cli(["pcap", str(path)], url)


def run_bare_tshark(path: Path) -> float:
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["tshark", "-r", str(path), "-n", *field_args(MAIN_FIELDS)],
                       stdout=null, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
    return time.perf_counter() - started


def run_pyshark(path: Path, seconds: float) -> tuple[int, float]:
    """Packets pyshark's default FileCapture loop reads in `seconds`."""
    code = (
        "import sys, time, pyshark\n"
        "limit = float(sys.argv[2]); count = 0\n"
        "cap = pyshark.FileCapture(sys.argv[1])\n"
        "start = time.perf_counter()\n"
        "for packet in cap:\n"
        "    count += 1\n"
        "    _ = packet.highest_layer\n"
        "    if time.perf_counter() - start > limit: break\n"
        "print(count, time.perf_counter() - start)\n"
        "cap.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path), str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 120)  # fmt: skip
    count, elapsed = done.stdout.split()[:2]
    return int(count), float(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--pyshark-seconds", type=float, default=30.0)
    args = parser.parse_args()

    large, tiny = capture(args.packets), capture(200)
    url = fresh_database("netsift_bench_pcap")
    run_netsift(tiny, url)  # warm-up: Prefect creates its local database on first use
    url = fresh_database("netsift_bench_pcap")
    tiny_s, tiny_summary, _ = run_netsift(tiny, url)
    large_s, summary, rss = run_netsift(large, url)
    packets = args.packets
    netsift_pps = packets / (large_s - tiny_s)
    tshark_s = run_bare_tshark(large)
    tshark_pps = packets / tshark_s
    py_count, py_s = run_pyshark(large, args.pyshark_seconds)
    pyshark_pps = py_count / py_s

    rows = {k.removeprefix("rows_"): v for k, v in summary.items()
            if k.startswith("rows_") and k not in ("rows_loaded", "rows_rejected")}
    print()
    print(f"capture: {packets:,} packets, {large.stat().st_size / 2**20:.0f} MB; rows: {rows}")
    print(f"netsift pcap, end to end into PostgreSQL  {netsift_pps:>9,.0f} packets/s  ({large_s:.1f} s; start-up {tiny_s:.1f} s subtracted)")
    print(f"bare tshark -T fields, same fields        {tshark_pps:>9,.0f} packets/s  ({tshark_s:.1f} s)")
    print(f"pyshark FileCapture default loop          {pyshark_pps:>9,.0f} packets/s  ({py_count:,} packets in {py_s:.0f} s)")
    print(f"peak memory (CLI and its tshark children) {rss / 2**20:>9,.0f} MB")
    print()
    print(f"bare tshark time / netsift time   {tshark_pps and netsift_pps / tshark_pps:>6.2f}  (target >= 0.50, i.e. within 2x)")
    print(f"netsift / pyshark                 {netsift_pps / pyshark_pps:>6.0f}x (target >= 20x)")
    print(f"peak memory                       {rss / 2**20:>6.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
