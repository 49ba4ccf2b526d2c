"""The maintained `crawler-user-agents` dataset, matched case-insensitively,
with each entry's tags turned into our categories."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1)
def _compiled() -> tuple[re.Pattern, list[tuple[re.Pattern, tuple[str, ...]]]]:
    from crawleruseragents import CRAWLER_USER_AGENTS_DATA

    entries = [(re.compile(e["pattern"], re.IGNORECASE), tuple(e.get("tags", ())))
               for e in CRAWLER_USER_AGENTS_DATA]  # fmt: skip
    combined = re.compile("|".join(f"(?:{e['pattern']})" for e in CRAWLER_USER_AGENTS_DATA), re.IGNORECASE)
    return combined, entries


def category_of(user_agent: str, mapping: dict[str, str]) -> str | None:
    """Our category for the first dataset entry matching, or None."""
    combined, entries = _compiled()
    if not combined.search(user_agent):
        return None
    for pattern, tags in entries:
        if pattern.search(user_agent):
            for tag in tags:
                if tag in mapping:
                    return mapping[tag]
            return "other-bot"
    return "other-bot"
