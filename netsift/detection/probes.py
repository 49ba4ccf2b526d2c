"""Is a requested path one scanners look for, and which kind: one verdict per
distinct path.

`strength` carries the site context: `weak` (every rule by default) means
the detection also weighs how the site answered, since a site may really
serve the path and then ordinary visitors get a 2xx there (downloads,
scripts it publishes, its own admin pages); `strong` (rules marked
`always: true`: /.env, /.git/config, wp-config backups, web shells,
traversal payloads) is a probe whatever the answer.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

from netsift.detection.ruleset import MAX_INPUT, RuleSet, bundled_rules

_SLASHES = re.compile(r"/{2,}")
_DOT_SEGMENTS = re.compile(r"/(?:\.(?=/))+")
_TRAILING = re.compile(r"(?<=[^/.\s])[.\s]+(?=/|$)")


class ProbeVerdict(NamedTuple):
    is_probe: bool
    probe_category: str | None
    strength: str | None  # 'strong' | 'weak' | None
    rule_id: str | None


NOT_A_PROBE = ProbeVerdict(False, None, None, None)


def normalised_path(path: str) -> str:
    """The form the rules are written against, so `/WP-LOGIN.PHP.`,
    `//wp-login.php` and `/./wp-login%2ephp` are one path: lower case, one
    more percent-decoding (scanners double-encode; paths arrive decoded
    once), no query or fragment, backslashes as slashes, repeated slashes
    and `/./` folded, trailing dots and blanks of each segment dropped
    (Windows servers ignore them, so scanners use them to dodge filters)."""
    text = path[:MAX_INPUT]
    if "%" in text:
        text = unquote(text, errors="replace")
    text = text.split("?", 1)[0].split("#", 1)[0].replace("\\", "/").replace("\x00", "").lower()
    text = _SLASHES.sub("/", text)
    text = _DOT_SEGMENTS.sub("/", text + "/")[:-1] if "/." in text else text
    text = _SLASHES.sub("/", _TRAILING.sub("", text))
    return text if text.startswith("/") else "/" + text


def classify_path(path: str | None, rules: RuleSet | None = None) -> ProbeVerdict:
    """The first rule that fires decides (strong rules come first in the
    bundled file, so a path both strong and weak reads strong)."""
    if not path:
        return NOT_A_PROBE
    text = normalised_path(path)
    for rule in (rules or bundled_rules()).path_rules:
        category = rule.matches(text)
        if category:
            return ProbeVerdict(True, category, rule.strength, rule.id)
    return NOT_A_PROBE
