"""`netsift browse`'s token: refused when guessable, never written to a log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from netsift.console.access import AccessError, check_binding, generate_token, redact_token, token_bits
from tests.conftest import free_port, start_process, stop_process

NETSIFT = str(Path(sys.executable).parent / "netsift")
TOKEN = "Xq7-vL2pR9_sT4wZ8mK3nB6"


@pytest.mark.parametrize("token, reason", [
    (" " * 16, "spaces"),
    ("correct horse battery staple", "spaces"),
    ("a" * 16, "predictable"),
    ("abcabcabcabcabca", "predictable"),
    ("ab" * 40, "predictable"),
    ("Tr0ub4dor&3xyzQW", "predictable"),  # 16 characters but under 64 bits
    ("short", "at least 16"),
    ("x" * 15 + "\x00", "control"),
])  # fmt: skip
def test_guessable_tokens_are_refused_with_the_fix(token, reason):
    for host in ("0.0.0.0", "127.0.0.1"):
        with pytest.raises(AccessError, match=reason) as refused:
            check_binding(host, token)
        assert "secrets.token_urlsafe" in str(refused.value) and "\n" not in str(refused.value)


def test_strong_and_generated_tokens_pass():
    for token in (TOKEN, "correct-horse-battery-staple", generate_token(), generate_token()):
        check_binding("0.0.0.0", token)
    assert token_bits(generate_token()) >= 64


def test_the_cli_refuses_a_guessable_token_with_exit_2(tmp_path):
    env = {**os.environ, "NETSIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "NETSIFT_BROWSE_TOKEN": " " * 16}
    refused = subprocess.run([NETSIFT, "browse", "--host", "0.0.0.0", "--port", str(free_port())], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    out = refused.stdout + refused.stderr
    assert refused.returncode == 2, out
    assert "NETSIFT_BROWSE_TOKEN must not hold spaces" in out and "Traceback" not in out


def test_redaction_covers_every_spelling():
    line = 'GET /_dash-layout?a=1&token=s3cret&b=2 HTTP/1.1" 200 -'
    assert redact_token(line) == 'GET /_dash-layout?a=1&token=<redacted>&b=2 HTTP/1.1" 200 -'
    assert redact_token("/?TOKEN=s3cret") == "/?TOKEN=<redacted>"


def test_the_token_never_reaches_the_server_log(tmp_path):
    port = free_port()
    log = tmp_path / "browse.log"
    process = start_process([NETSIFT, "browse", "--host", "0.0.0.0", "--port", str(port)], log,
                            {"NETSIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
                             "NETSIFT_BROWSE_TOKEN": TOKEN})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        for path in (f"/?token={TOKEN}", f"/export.csv?table=alerts&token={TOKEN}", f"/nowhere?token={TOKEN}"):
            try:
                urllib.request.urlopen(base + path, timeout=10).read()
            except urllib.error.HTTPError:
                pass
        # The request lines are logged, with the token replaced.
        deadline = time.monotonic() + 10
        while "/nowhere?token=<redacted>" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop_process(process)
    written = log.read_text()
    assert "GET /?token=<redacted>" in written and "/nowhere?token=<redacted>" in written, written[-2000:]
    assert TOKEN not in written


def _wait(base: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(base + "/", timeout=5)
            return
        except urllib.error.HTTPError:
            return  # 401: the server is up and guarding
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise AssertionError("netsift browse did not start")
