"""Realistic CloudFront standard logs, generated (seeded) for benchmarks.

33-field layout with the `#Version`/`#Fields` header, gzip, one object per
distribution-hour as CloudFront names them. Traffic mixes browsers, crawlers,
scripts and probes, double-encoded user agents, a spread of statuses and
result types, so parsing cost matches real files.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from netsift.cloudfront.parse import STANDARD_FIELDS

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "-",
]
PATHS = ["/", "/index.html", "/about", "/blog/2024/03/cdn-logs", "/assets/app.js",
         "/assets/app.css", "/images/logo.png", "/api/v1/items", "/favicon.ico", "/robots.txt"]
PROBES = ["/wp-login.php", "/xmlrpc.php", "/wp-admin/", "/.env", "/.git/config",
          "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/phpmyadmin/index.php",
          "/wp-content/plugins/revslider/readme.txt", "/wp-config.php.bak", "/shell.php"]
EDGES = ["FRA56-P1", "IAD89-C2", "LHR61-P3", "NRT57-C1", "SFO5-P2", "GRU3-C1"]
RESULTS = [("Hit", 200), ("Miss", 200), ("RefreshHit", 200), ("Miss", 404), ("Error", 403),
           ("Miss", 301), ("Error", 500), ("Miss", 304)]
TYPES = ["text/html", "application/javascript", "text/css", "image/png", "application/json", "-"]  # fmt: skip


# Real crawlers come from their operators' networks (netsift/detection/rules/
# crawler_networks.yaml); a generator that gave them random addresses would
# make every crawler request an impersonation alert, which real traffic is not.
CRAWLER_NETWORKS = {"Googlebot": "66.249.{}", "bingbot": "157.55.{}", "GPTBot": "20.171.{}"}


def client_address(agent: str, octets: tuple[int, int, int, int]) -> str:
    for claim, network in CRAWLER_NETWORKS.items():
        if claim in agent:
            return f"{network.format(64 + octets[2] % 16 if claim == 'Googlebot' else 39)}.{octets[3]}"
    return ".".join(map(str, octets))


def request_line(rng: random.Random, when: datetime) -> str:
    probe = rng.random() < 0.05
    path = rng.choice(PROBES if probe else PATHS)
    result, status = rng.choice(RESULTS)
    if probe:
        status = rng.choice((404, 403, 404, 200))
    agent = rng.choice(USER_AGENTS)
    octets = (rng.choice((52, 66, 93, 185, 203)), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
    ip = client_address(agent, octets)
    return "\t".join(request_fields(rng, when, path=path, status=status, agent=agent, ip=ip, result=result)) + "\n"


def request_fields(rng: random.Random, when: datetime, path: str, status: int, agent: str, ip: str,
                   result: str | None = None) -> list[str]:  # fmt: skip
    """The 33 fields of one request, encoded as CloudFront writes them; the
    fields not given are drawn from `rng`."""
    if result is None:
        result = "Hit" if status in (200, 304) else ("Error" if status >= 500 or status == 403 else "Miss")
    request_id = base64.b64encode(rng.randbytes(42)).decode().replace("+", "-").replace("/", "_")
    sc_bytes = rng.randrange(200, 90_000)
    query = rng.choice(("-", "-", "-", "page=2", "utm_source=news&utm_medium=email", "q=a%2Bb"))
    referer = rng.choice(("-", "-", "https://www.google.com/", "https://example.com/blog/"))
    ctype = rng.choice(TYPES)
    return [
        when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S"), rng.choice(EDGES), str(sc_bytes),
        ip, rng.choice(("GET", "GET", "GET", "HEAD", "POST")), "d111111abcdef8.cloudfront.net",
        quote(path), str(status), quote(referer, safe=":/") if referer != "-" else "-",
        quote(agent, safe="/;:(),.+").replace("%", "%25") if agent != "-" else "-", query, "-", result,
        request_id, "www.example.com", rng.choice(("https", "https", "http")),
        str(rng.randrange(100, 900)), f"{rng.random() * 0.8:.3f}", "-",
        "TLSv1.3", "TLS_AES_128_GCM_SHA256", result, rng.choice(("HTTP/2.0", "HTTP/1.1")),
        "-", "-", str(rng.randrange(1024, 65535)), f"{rng.random() * 0.5:.3f}", result, ctype,
        str(sc_bytes - 180), "-", "-",
    ]  # fmt: skip


def write_objects(folder: Path, requests: int, objects: int, seed: int = 1) -> list[Path]:
    """`objects` gzip files holding `requests` lines in all."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    header = "#Version: 1.0\n#Fields: " + " ".join(STANDARD_FIELDS) + "\n"
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    paths, per_object = [], max(1, requests // objects)
    for index in range(objects):
        hour = start + timedelta(hours=index)
        count = per_object if index < objects - 1 else requests - per_object * (objects - 1)
        stamps = sorted(rng.randrange(3600) for _ in range(count))
        body = header + "".join(request_line(rng, hour + timedelta(seconds=s)) for s in stamps)
        path = folder / f"E2BENCH0000001.{hour:%Y-%m-%d-%H}.{index:08x}.gz"
        path.write_bytes(gzip.compress(body.encode(), compresslevel=6))
        paths.append(path)
    return paths


_INTEGERS = ("sc-bytes", "sc-status", "cs-bytes", "c-port", "sc-content-len")
_FLOATS = ("time-taken", "time-to-first-byte")


def _records(text_object: Path) -> list[dict]:
    """The requests of one generated text object, as v2 records: the same
    field names, numbers as numbers, `-` as null where the field is numeric."""
    records = []
    for text in gzip.decompress(text_object.read_bytes()).decode().splitlines():
        if text.startswith("#"):
            continue
        record = dict(zip(STANDARD_FIELDS, text.split("\t")))
        for name in _INTEGERS + _FLOATS:
            value = record[name]
            record[name] = None if value == "-" else (int(value) if name in _INTEGERS else float(value))
        records.append(record)
    return records


def write_v2_objects(text_objects: list[Path], folder: Path, fmt: str) -> list[Path]:
    """The same requests as the text objects, as v2 delivers them: gzip JSON
    lines, or Parquet (one object each, CloudFront's default row groups)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([
        (n, pa.int64() if n in _INTEGERS else pa.float64() if n in _FLOATS else pa.string())
        for n in STANDARD_FIELDS
    ])  # fmt: skip
    paths = []
    for text_object in text_objects:
        records = _records(text_object)
        stem = text_object.name.removesuffix(".gz")
        if fmt == "json":
            path = folder / f"{stem}.json.gz"
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
            path.write_bytes(gzip.compress(body.encode(), compresslevel=6))
        else:
            path = folder / f"{stem}.parquet"
            pq.write_table(pa.Table.from_pylist(records, schema=schema), path, compression="snappy")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for path in write_objects(args.folder, args.requests, args.objects, args.seed):
        print(path)


if __name__ == "__main__":
    main()
