"""Property-based tests of the decoder and the line parser (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netsift.schema import CLOUDFRONT_COPY_COLUMNS
from netsift.cloudfront.parse import STANDARD_FIELDS, LogParser, decode_field
from tests.cloudfront_lines import HEADER

# Text as a client could send it: any character but NUL and the surrogates
# (not representable in UTF-8), which the decoder maps separately.
client_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


def cloudfront_encode(value: str) -> str:
    """What CloudFront writes: percent-encoding, `%` itself encoded again."""
    return quote(quote(value, safe="/:;,()=+&?~@!$*'"), safe="/:;,()=+&?~@!$*'")


@given(client_text)
def test_double_encoding_round_trips(value):
    assert decode_field(cloudfront_encode(value)) == value


@given(client_text.filter(lambda v: "%" not in v))
def test_single_encoding_round_trips(value):
    assert decode_field(quote(value, safe="/+")) == value


@given(st.text())
def test_decoder_never_raises_and_never_emits_nul(value):
    decoded = decode_field(value)
    assert isinstance(decoded, str) and "\x00" not in decoded


@given(st.text(alphabet="ab+ ", min_size=1))
def test_plus_is_never_a_space(value):
    assert decode_field(value.replace(" ", "%20")) == value


field_text = client_text.filter(lambda v: v not in ("", "-")).map(cloudfront_encode)
requests = st.fixed_dictionaries(
    {
        "ts": st.datetimes(
            min_value=datetime(2008, 1, 1), max_value=datetime(2099, 12, 31)
        ).map(lambda d: d.replace(microsecond=0, tzinfo=timezone.utc)),
        "sc-bytes": st.integers(0, 2**63 - 1),
        "sc-status": st.integers(0, 599),
        "c-port": st.integers(0, 65535),
        "time-taken": st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
        "cs-uri-stem": field_text,
        "cs(User-Agent)": field_text,
        "cs(Referer)": st.one_of(st.just("-"), field_text),
        "c-ip": st.ip_addresses().map(str),
    }
)


@pytest.mark.slow
@settings(max_examples=200)
@given(st.lists(requests, min_size=1, max_size=5))
def test_parsed_rows_hold_the_values_written(generated):
    lines = HEADER.splitlines(True)
    for request in generated:
        values = {name: "-" for name in STANDARD_FIELDS}
        values.update({k: str(v) for k, v in request.items() if k != "ts"})
        values["date"], values["time"] = request["ts"].strftime("%Y-%m-%d\t%H:%M:%S").split("\t")
        lines.append("\t".join(values[name] for name in STANDARD_FIELDS) + "\n")
    parser = LogParser(source_object_id=1)
    rows = [dict(zip(CLOUDFRONT_COPY_COLUMNS, r)) for r in parser.rows(lines)]
    assert parser.rejected == []
    assert len(rows) == len(generated)
    for row, request in zip(rows, generated):
        assert row["ts"] == request["ts"]
        assert row["sc_bytes"] == request["sc-bytes"]
        assert row["sc_status"] == request["sc-status"]
        assert row["c_port"] == request["c-port"]
        assert row["time_taken"] == request["time-taken"]
        assert row["c_ip"] == request["c-ip"]
        assert row["cs_uri_stem"] == decode_field(request["cs-uri-stem"])
        referer = request["cs(Referer)"]
        assert row["cs_referer"] == (None if referer == "-" else decode_field(referer))


@given(st.lists(st.text(), max_size=20))
@example(garbage=["#Fields:"])  # a later header with no fields once failed the whole object
def test_parser_survives_arbitrary_lines_after_a_header(garbage):
    parser = LogParser(source_object_id=1)
    rows = list(parser.rows([*HEADER.splitlines(True), *(g.replace("\n", " ") + "\n" for g in garbage)]))
    assert parser.rows_parsed == len(rows)
    assert all(r.line_number >= 3 for r in parser.rejected)
