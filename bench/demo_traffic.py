"""The demo's CloudFront logs: a morning of a small WordPress site, made here
(seeded, so the bundled files are reproducible byte for byte).

What is in it, for `make demo` to find:
- ordinary visitors (198.51.100.0/24) reading the blog with real browsers;
- crawlers: Googlebot from Google's 66.249.66.0/24 and bingbot;
- a WordPress scanner, 203.0.113.66, fingerprinting plugins and looking for
  the login, xmlrpc and a wp-config backup within two minutes;
- a config-leak prober, 192.0.2.200, asking for /.env, /.git/config and
  cloud credentials.

    python -m bench.demo_traffic tests/data/cloudfront/demo
"""

from __future__ import annotations

import argparse
import gzip
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.generate import request_fields
from netsift.cloudfront.parse import STANDARD_FIELDS

SCANNER = "203.0.113.66"
LEAK_PROBER = "192.0.2.200"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
]  # fmt: skip
PAGES = ["/", "/blog/", "/blog/2026/11/cdn-logs-for-security/", "/blog/2026/11/zeek-and-tshark/", "/about/",
         "/wp-content/themes/twentytwentyfour/style.css", "/wp-includes/js/jquery/jquery.min.js",
         "/wp-content/uploads/2026/11/diagram.png", "/favicon.ico"]  # fmt: skip
CRAWLERS = [("66.249.66.1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            ("157.55.39.10", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")]  # fmt: skip
WORDPRESS_SCAN = ["/wp-login.php", "/xmlrpc.php", "/wp-includes/wlwmanifest.xml", "/wp-json/wp/v2/users",
                  "/wp-content/plugins/revslider/readme.txt", "/wp-content/plugins/wp-file-manager/readme.txt",
                  "/wp-config.php.bak", "/wp-admin/install.php"]  # fmt: skip
LEAK_PROBE = ["/.env", "/.git/config", "/.aws/credentials", "/config/.env", "/.env.production"]
START = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def requests(rng: random.Random) -> list[tuple[datetime, str, str, int, str]]:
    """(when, client, path, status, user agent), unsorted."""
    out = []
    for visitor in range(40):
        ip, agent = f"198.51.100.{10 + visitor}", rng.choice(BROWSERS)
        at = START + timedelta(seconds=rng.randrange(4 * 3600))
        for _ in range(rng.randrange(2, 9)):
            at += timedelta(seconds=rng.randrange(1, 90))
            out.append((at, ip, rng.choice(PAGES), rng.choice((200, 200, 200, 304)), agent))
    for ip, agent in CRAWLERS:
        for _ in range(30):
            at = START + timedelta(seconds=rng.randrange(4 * 3600))
            out.append((at, ip, rng.choice(PAGES[:5] + ["/robots.txt"]), 200, agent))
    at = START + timedelta(hours=1, minutes=17)
    for path in WORDPRESS_SCAN:
        at += timedelta(seconds=rng.randrange(3, 15))
        out.append((at, SCANNER, path, 403 if path.startswith("/wp-admin") else 404, "python-requests/2.31.0"))
    at = START + timedelta(hours=2, minutes=41)
    for path in LEAK_PROBE:
        at += timedelta(seconds=rng.randrange(1, 5))
        out.append((at, LEAK_PROBER, path, 404, "curl/8.5.0"))
    return out


def write(folder: Path, seed: int = 2026) -> list[Path]:
    """One gzip object per hour, named as CloudFront names them."""
    rng = random.Random(seed)
    header = "#Version: 1.0\n#Fields: " + " ".join(STANDARD_FIELDS) + "\n"
    by_hour: dict[datetime, list] = {}
    for request in sorted(requests(rng)):
        by_hour.setdefault(request[0].replace(minute=0, second=0), []).append(request)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for hour, hour_requests in sorted(by_hour.items()):
        lines = ["\t".join(request_fields(rng, when, path=path, status=status, agent=agent, ip=ip)) + "\n"
                 for when, ip, path, status, agent in hour_requests]  # fmt: skip
        path = folder / f"E2DEMO0000001.{hour:%Y-%m-%d-%H}.{rng.getrandbits(32):08x}.gz"
        path.write_bytes(gzip.compress((header + "".join(lines)).encode(), compresslevel=9, mtime=0))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    for path in write(parser.parse_args().folder):
        print(path)


if __name__ == "__main__":
    main()
