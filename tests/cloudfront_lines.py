"""Helpers to build CloudFront log text for tests."""

from __future__ import annotations

from netsift.cloudfront.parse import STANDARD_FIELDS

HEADER = "#Version: 1.0\n#Fields: " + " ".join(STANDARD_FIELDS) + "\n"


def line(**overrides: str) -> str:
    """One 33-field line; keyword names use snake_case (`cs_user_agent`)."""
    values = {
        "date": "2024-03-01", "time": "12:00:01", "x-edge-location": "FRA56-P1",
        "sc-bytes": "1234", "c-ip": "203.0.113.9", "cs-method": "GET",
        "cs(Host)": "d111111abcdef8.cloudfront.net", "cs-uri-stem": "/index.html",
        "sc-status": "200", "cs(Referer)": "-", "cs(User-Agent)": "curl/8.5.0",
        "cs-uri-query": "-", "cs(Cookie)": "-", "x-edge-result-type": "Hit",
        "x-edge-request-id": "abc==", "x-host-header": "example.com", "cs-protocol": "https",
        "cs-bytes": "120", "time-taken": "0.002", "x-forwarded-for": "-",
        "ssl-protocol": "TLSv1.3", "ssl-cipher": "TLS_AES_128_GCM_SHA256",
        "x-edge-response-result-type": "Hit", "cs-protocol-version": "HTTP/2.0",
        "fle-status": "-", "fle-encrypted-fields": "-", "c-port": "51234",
        "time-to-first-byte": "0.001", "x-edge-detailed-result-type": "Hit",
        "sc-content-type": "text/html", "sc-content-len": "1000",
        "sc-range-start": "-", "sc-range-end": "-",
    }  # fmt: skip
    from netsift.cloudfront.parse import column_for

    by_column = {column_for(name): name for name in STANDARD_FIELDS}
    for key, value in overrides.items():
        values[by_column[key]] = value
    return "\t".join(values[name] for name in STANDARD_FIELDS) + "\n"


def log_text(*lines: str, header: bool = True) -> str:
    return (HEADER if header else "") + "".join(lines)


def loaded_and_classified(database_url: str, folder, *lines: str):
    """Write `lines` as one log in `folder`, load it, run detection; the engine."""
    from netsift.db import engine_for
    from netsift.settings import Settings
    from netsift.cloudfront.load import load_object
    from netsift.detection.alerts import detect
    from netsift.detection.ruleset import load_rules
    from netsift.ingest.sources import Window, list_local

    (folder / "day.log").write_text(log_text(*lines))
    engine = engine_for(database_url)
    for obj in list_local(folder, Window.of()):
        load_object(engine, obj, Settings(database_url=database_url))
    detect(engine, load_rules())
    return engine


def distinct_copy(sample, number: int) -> bytes:
    """The sample (gzip) with a `#Remark` line of its own: the same requests,
    but content of its own, so it is not recorded as a duplicate of the others."""
    import gzip

    return gzip.compress(f"#Remark: copy {number}\n".encode() + gzip.decompress(sample.read_bytes()), mtime=0)
