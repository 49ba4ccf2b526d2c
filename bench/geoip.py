"""`make bench-geoip`: how fast client addresses are placed (country, AS,
crawler operators), first time and cached. Detection looks up each distinct
client once per run, so this bounds what a run's new clients cost.

Random public IPv4 and IPv6 addresses (seeded), through the bundled
geoip2fast data; then the same addresses again (the per-address cache).
Then the real access log of bench/real_log.py (2015): which requests claim
a crawler, and which of those come from outside the operator's networks,
with their AS. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import time
from collections import Counter

from bench.real_log import FOLDER

from netsift.detection.clients import client_network_row
from netsift.detection.crawlers import bundled_crawler_networks
from netsift.detection.geoip import GeoLookup


def addresses(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        if rng.random() < 0.8:
            address = ipaddress.IPv4Address(rng.getrandbits(32))
        else:  # global unicast 2000::/3
            address = ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(125) >> 1)
        if address.is_global:
            found.append(str(address))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=200_000)
    args = parser.parse_args()
    started = time.perf_counter()
    geo = GeoLookup()
    print(f"database loaded in {time.perf_counter() - started:.2f} s: {geo.version}")
    listed, networks = addresses(args.addresses), bundled_crawler_networks()
    started = time.perf_counter()
    for address in listed:
        geo.network(address)
    first = args.addresses / (time.perf_counter() - started)
    started = time.perf_counter()
    for address in listed:
        geo.network(address)
    cached = args.addresses / (time.perf_counter() - started)
    geo.network.cache_clear()
    started = time.perf_counter()
    for address in listed:
        client_network_row(address, geo, networks, "v")
    rows = args.addresses / (time.perf_counter() - started)
    print(f"{args.addresses} distinct addresses (80% IPv4)")
    print(f"lookups, first time:        {first:>12,.0f} /s")
    print(f"lookups, cached:            {cached:>12,.0f} /s  ({cached / first:.0f}x)")
    print(f"client_networks rows:       {rows:>12,.0f} /s  (lookup + operators' networks)")

    real_log(geo, networks)


def real_log(geo: GeoLookup, networks) -> None:
    import gzip
    import re

    line = re.compile(r'^(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" \d{3} \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"')
    claims, outside = Counter(), Counter()
    with gzip.open(FOLDER / "apache_logs.gz", "rt", errors="replace") as log:
        for text in log:
            found = line.match(text)
            operator = found and networks.claimed_operator(found.group(2))
            if not operator:
                continue
            claims[operator] += 1
            row = client_network_row(found.group(1), geo, networks, "v")
            if row["crawler_operators"] is not None and f",{operator}," not in row["crawler_operators"]:
                outside[(operator, found.group(1), row["as_org"])] += 1
    print(f"\nreal log ({FOLDER.name}, 2015): {sum(claims.values())} requests claim a crawler {dict(claims)}; "
          f"{sum(outside.values())} from outside the operator's networks:")
    for (operator, address, org), count in outside.most_common():
        print(f"  {count:>5}  {operator:<15} {address:<16} {org}")


if __name__ == "__main__":
    main()
