"""Precision and recall of `is_bot` and `is_probe` on the labelled dev data.

    .venv/bin/python bench/quality.py [--samples ../shared/samples] [--show-misses]

Labels (tests/data/detection/SOURCES.md says where each file comes from):
- bots: every instance string in crawler-user-agents.json (circular for the
  dataset rule, which is built from it: read the full-rules row as an upper
  bound, the "without datasets" row as what generalises), matomo's HTTP-library
  user agents (policy: automated clients are bots), fail2ban's labelled bad-bot
  lines, and matomo "browsers" whose user agent shows a headless or
  automation browser (not those matomo recognised by client-hint headers);
- humans: the rest of matomo's browser user agents, and 839 real 2025 browser
  user agents (fake-useragent's data);
- probes: CrowdSec's sensitive-file, backdoor and admin-interface lists (as
  paths), the request paths of CrowdSec's and fail2ban's scenario test logs;
- not probes: tests/data/detection/site_paths.txt (ours) and the distinct
  paths of real traffic in tests/data (CloudFront samples, bundled captures).

Path verdicts are per distinct path, before the detection weighs how the site
answered: a `weak` verdict (for example /wp-login.php, any *.php) counts as a
probe in the "strong + weak" rows and as silent in the "strong only" rows.
"as the detection counts it" models the SQL: weak counts only on paths no
ordinary visitor got a 2xx for (the negatives here are real, served pages;
the probes were answered 404 in their logs).
Per bot category, labels come from the same sources: a dataset instance's
tags mapped the way the dataset rule maps them (first mapped tag, else
other-bot), matomo's libraries as http-library, its headless browsers as
headless-browser; fail2ban's lines carry no category and are left out.
"unseen" rows are those that do not reuse the lists the rules were built
from: neither a crawler-user-agents instance nor a rule's test sample.
bench/real_log.py adds a real site's log labelled by hand, per request.
The baseline is the `crawler-user-agents` package alone (`is_crawler`,
case-insensitive); it has no notion of paths. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script as well as with -m
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.real_log import category_confusion, labelled_requests, report  # noqa: E402
from netsift.detection.bots import classify_user_agent  # noqa: E402
from netsift.detection.probes import classify_path  # noqa: E402
from netsift.detection.ruleset import load_rules  # noqa: E402
from netsift.settings import Settings  # noqa: E402

DATA = ROOT / "tests" / "data" / "detection"
SAMPLES = ROOT.parent / "shared" / "samples"
REQUEST = re.compile(r'"[A-Z]+ (\S+) HTTP/[0-9.]+"')
LOG_USER_AGENT = re.compile(r'"([^"]*)"\s*$')
AUTOMATION_BROWSERS = {"Headless Chrome", "Headless Edge", "Splash", "Lightpanda"}

Labelled = list[tuple[str, bool]]


def fail2ban_matches(path: Path) -> list[str]:
    """The log lines fail2ban's own test expects to match (`"match": true`)."""
    lines = path.read_text().splitlines()
    return [line for label, line in zip(lines, lines[1:])
            if label.startswith("# failJSON") and re.search(r'"match":\s*true', label)]  # fmt: skip


def dataset_bots() -> Labelled:
    data = json.loads((DATA / "crawler-user-agents.json").read_text())
    return [(ua, True) for entry in data for ua in entry.get("instances", [])]


def browser_humans() -> Labelled:
    return [(ua, False) for ua in (DATA / "fake_useragent_browsers.txt").read_text().splitlines() if ua]


def matomo_user_agents(samples: Path = SAMPLES) -> Labelled:
    """matomo's libraries are bots by our policy; its browsers are people,
    except the headless ones (automation by our policy)."""
    folder = samples / "useragents"
    libraries = yaml.safe_load((folder / "matomo_client_library.yml").read_text())
    browsers = yaml.safe_load((folder / "matomo_client_browser.yml").read_text())
    # Entries detected through client-hint headers (not in access logs) are
    # labelled by what the user agent alone shows.
    return [(e["user_agent"], True) for e in libraries] + [
        (e["user_agent"], e["client"]["name"] in AUTOMATION_BROWSERS
         and (not e.get("headers") or re.search(r"headless|splash|lightpanda", e["user_agent"], re.I) is not None))
        for e in browsers
    ]


def fail2ban_bots(samples: Path = SAMPLES) -> Labelled:
    found = (LOG_USER_AGENT.search(line) for line in fail2ban_matches(samples / "useragents" / "fail2ban_apache-badbots.log"))
    return [(m.group(1), True) for m in found if m]


def labelled_user_agents(samples: Path = SAMPLES) -> Labelled:
    rows = dataset_bots() + browser_humans()
    if (samples / "useragents").is_dir():
        rows += matomo_user_agents(samples) + fail2ban_bots(samples)
    return rows


def probe_paths(samples: Path = SAMPLES) -> Labelled:
    rows = []
    for name in ("crowdsec_sensitive_data.txt", "crowdsec_backdoors.txt", "crowdsec_admin_interfaces.txt"):
        for entry in (DATA / name).read_text().splitlines():
            entry = entry.strip()
            if entry and not entry.startswith("#"):
                rows.append((entry if entry.startswith("/") else "/" + entry, True))
    for log in sorted(DATA.glob("crowdsec_hub_*.log")):
        rows += [(m.group(1), True) for m in REQUEST.finditer(log.read_text())]
    botsearch = samples / "probes" / "fail2ban_nginx-botsearch.log"
    if botsearch.is_file():
        for line in fail2ban_matches(botsearch):
            found = REQUEST.search(line) or re.search(r'open\(\) "[^"]*?(/[^"/]+\.php)"', line)
            if found:
                rows.append((found.group(1), True))
    return rows


def site_paths() -> list[tuple[str, bool]]:
    """(path, weak allowed) for the ordinary pages in site_paths.txt."""
    rows = []
    for line in (DATA / "site_paths.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path, _, mark = line.partition("\t")
            rows.append((path, mark.strip() == "weak"))
    return rows


def real_traffic_paths() -> set[str]:
    """Distinct paths of the real traffic bundled for other tests; empty if
    those parsers are unavailable (they belong to other modules)."""
    try:
        import gzip

        from netsift.capture.dissect import Limits, capture_info, dissect
        from netsift.cloudfront.parse import LogParser
    except ImportError:
        return set()
    paths = set()
    for sample in sorted((ROOT / "tests/data/cloudfront/samples").rglob("*")):
        if sample.is_file():
            raw = sample.read_bytes()
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            parser = LogParser(source_object_id=0)
            paths |= {row[9] for row in parser.rows(text.decode().splitlines(True)) if row[9]}
    for capture in ("kitchen_boss.pcap", "http.pcap"):
        path = ROOT / "tests/data/pcap" / capture
        if path.is_file():
            for table, row in dissect(path, 0, capture_info(path), Limits.from_settings(Settings())):
                if table == "http_requests" and row[9]:
                    paths.add(row[9].split("?", 1)[0])
    return paths


def labelled_paths(samples: Path = SAMPLES) -> Labelled:
    negatives = {path for path, _ in site_paths()} | real_traffic_paths()
    return probe_paths(samples) + [(path, False) for path in sorted(negatives)]


def scores(rows: Labelled, predict: Callable[[str], bool]) -> tuple[float, float, int, int]:
    """(precision, recall, positives, negatives)."""
    tp = sum(1 for text, label in rows if label and predict(text))
    fp = sum(1 for text, label in rows if not label and predict(text))
    positives = sum(1 for _, label in rows if label)
    precision = tp / (tp + fp) if tp + fp else 1.0
    return precision, tp / positives if positives else 1.0, positives, len(rows) - positives


def dataset_categories() -> dict[str, str]:
    """Each crawler-user-agents instance's category, by the dataset rule's own
    tag mapping (so this label is circular for that rule, not for the others)."""
    bundled = yaml.safe_load((ROOT / "netsift/detection/rules/detection.yaml").read_text())
    mapping = next(r for r in bundled["user_agent_rules"] if r["type"] == "user-agent-dataset")["categories"]
    data = json.loads((DATA / "crawler-user-agents.json").read_text())
    return {ua: next((mapping[t] for t in entry.get("tags", []) if t in mapping), "other-bot")
            for entry in data for ua in entry.get("instances", [])}  # fmt: skip


def categorised_user_agents(samples: Path = SAMPLES) -> list[tuple[str, str | None]]:
    """(user agent, category, or None for a person) where the labels name one:
    fail2ban's bad bots name none and are left out."""
    rows: list[tuple[str, str | None]] = list(dataset_categories().items())
    rows += [(ua, None) for ua, _ in browser_humans()]
    if (samples / "useragents").is_dir():
        # matomo_user_agents lists the libraries first, then the browsers.
        libraries = len(yaml.safe_load((samples / "useragents" / "matomo_client_library.yml").read_text()))
        matomo = matomo_user_agents(samples)
        rows += [(ua, "http-library") for ua, _ in matomo[:libraries]]
        rows += [(ua, "headless-browser" if bot else None) for ua, bot in matomo[libraries:]]
    return rows


def per_category(rows: list[tuple[str, str | None]], predict: Callable[[str], str | None]) -> dict[str, tuple]:
    """category -> (precision, recall, labelled, predicted)."""
    predicted = [(label, predict(ua)) for ua, label in rows]
    out = {}
    for category in sorted({c for pair in predicted for c in pair if c}):
        tp = sum(1 for label, guess in predicted if label == guess == category)
        labelled = sum(1 for label, _ in predicted if label == category)
        guessed = sum(1 for _, guess in predicted if guess == category)
        out[category] = (tp / guessed if guessed else float("nan"), tp / labelled if labelled else float("nan"), labelled, guessed)
    return out


def counted_probe(path: str, rules, served: set[str]) -> bool:
    """What the alert SQL counts: strong always, weak only where ordinary
    visitors never got a 2xx (here: the real pages are the served ones)."""
    verdict = classify_path(path, rules)
    return verdict.strength == "strong" or (verdict.strength == "weak" and path not in served)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    from crawleruseragents import is_crawler

    rules, hand_written = load_rules(), load_rules(datasets=False)
    agents, paths = labelled_user_agents(args.samples), labelled_paths(args.samples)
    in_dataset = {ua for ua, _ in dataset_bots()}
    unseen = [(ua, label) for ua, label in agents if not label or ua not in in_dataset]
    served = {path for path, label in paths if not label}  # real pages: ordinary visitors got 2xx there
    ours_bot = lambda ua: classify_user_agent(ua, rules).is_bot  # noqa: E731
    ours_probe = lambda p: classify_path(p, rules).is_probe  # noqa: E731
    print(f"{'':52}{'precision':>10}{'recall':>8}   positives / negatives")
    for name, rows, predict in (
        ("is_bot, netsift", agents, ours_bot),
        ("is_bot, netsift without the dataset rule", agents, lambda ua: classify_user_agent(ua, hand_written).is_bot),
        ("is_bot, crawler-user-agents alone (baseline)", agents, lambda ua: is_crawler(ua, case_sensitive=False)),
        ("is_bot, netsift, bots not in the dataset", unseen, ours_bot),
        ("is_bot, baseline, bots not in the dataset", unseen, lambda ua: is_crawler(ua, case_sensitive=False)),
        ("is_probe, netsift (strong + weak)", paths, ours_probe),
        ("is_probe, netsift (strong only)", paths, lambda p: classify_path(p, rules).strength == "strong"),
        ("is_probe, netsift as the detection counts it", paths, lambda p: counted_probe(p, rules, served)),
        ("is_probe, netsift without CrowdSec's lists", paths, lambda p: classify_path(p, hand_written).is_probe),
        ("is_probe, crawler-user-agents alone (baseline)", paths, lambda p: False),
    ):
        precision, recall, pos, neg = scores(rows, predict)
        print(f"{name:52}{precision:>10.3f}{recall:>8.3f}   {pos} / {neg}")
    rule_samples = {s for rule in rules.user_agent_rules for s in (*rule.fires, *rule.silent)}
    categorised = categorised_user_agents(args.samples)
    unseen_categorised = [(ua, c) for ua, c in categorised if ua not in in_dataset and ua not in rule_samples]
    guess = lambda ua: classify_user_agent(ua, rules).bot_category  # noqa: E731
    everything, fresh = per_category(categorised, guess), per_category(unseen_categorised, guess)
    print(f"\nbot_category on the dev data{'':14}{'all rows':>26}{'unseen rows':>28}")
    print(f"{'':40}{'P':>7}{'R':>7}{'lab/pred':>12}{'P':>9}{'R':>7}{'lab/pred':>12}")
    for category in sorted(set(everything) | set(fresh)):
        a = everything.get(category, (float("nan"), float("nan"), 0, 0))
        b = fresh.get(category, (float("nan"), float("nan"), 0, 0))
        print(f"{category:40}{a[0]:>7.3f}{a[1]:>7.3f}{f'{a[2]}/{a[3]}':>12}{b[0]:>9.3f}{b[1]:>7.3f}{f'{b[2]}/{b[3]}':>12}")
    print("(the dataset has no ai-agent, fetch-proxy or updater tag: its ChatGPT-User reads ai-crawler and its image\n"
          " proxies social-preview or seo, so those rows count against the finer category; the unseen rows hold\n"
          " no such bots: the rules' own samples and the real log below are what measure them)")
    requests, unparsed = labelled_requests()
    print(f"\nReal access log, labelled by hand (tests/data/detection/semicomplete, {len(requests)} requests, "
          f"{unparsed} line unparsed), per request:")
    for name, (precision, recall, pos, neg) in report(rules, scores):
        print(f"{name:52}{precision:>10.3f}{recall:>8.3f}   {pos} / {neg}")
    confusion = category_confusion(rules)
    labels = sorted({label for label, _ in confusion if label})
    print(f"{'bot_category on that log':40}{'P':>7}{'R':>7}   labelled / predicted requests")
    for category in labels:
        tp = confusion.get((category, category), 0)
        labelled = sum(n for (label, _), n in confusion.items() if label == category)
        guessed = sum(n for (_, guess), n in confusion.items() if guess == category)
        print(f"{category:40}{tp / guessed if guessed else float('nan'):>7.3f}{tp / labelled:>7.3f}   {labelled} / {guessed}")
    if args.show_misses:
        for text, label in agents:
            if label != ours_bot(text):
                print("bot miss" if label else "bot false alarm", repr(text))
        for text, label in paths:
            if label != ours_probe(text):
                print("probe miss" if label else "probe false alarm", repr(text))


if __name__ == "__main__":
    main()
