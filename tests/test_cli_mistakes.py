"""Issue 12, part 1: every user mistake is one line on stderr naming what is
wrong and how to fix it, exit code 2, checked before any flow starts.

Each command runs with PREFECT_API_URL pointing at a closed port: had a flow
started, it would have failed loudly against it, not in one line. A flow
started by other means does not retry such mistakes either (last tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import DATA, free_port, start_process, stop_process, wait_for_http

NETSIFT = str(Path(sys.executable).parent / "netsift")
SAMPLE = DATA / "cloudfront" / "samples" / "matomo-log-analytics" / "amazon_cloudfront_web.log"
NO_SERVER = "http://127.0.0.1:9/api"


def run_cli(*args: str, env: dict | None = None, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PREFECT_API_URL": NO_SERVER, **(env or {})}
    for name in drop:
        environ.pop(name, None)
    return subprocess.run([NETSIFT, *args], capture_output=True, text=True, timeout=120, env=environ)


def one_line_mistake(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2, exactly one line on stderr naming the problem, no traceback,
    no flow started."""
    shown = result.stdout + result.stderr
    assert result.returncode == 2, shown[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert "Traceback" not in shown and "Flow run" not in shown and "temporary server" not in shown
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_database_url_with_a_typo(tmp_path):
    line = one_line_mistake(run_cli("report", "--database-url", "postgersql://ops:s3cret@127.0.0.1/test"),
                            "postgersql", "postgresql://")  # fmt: skip
    assert "s3cret" not in line


def test_a_setting_that_does_not_validate_is_named_without_its_value(tmp_path):
    line = one_line_mistake(run_cli("report", env={"NETSIFT_MAX_NEW_DAYS_PER_OBJECT": "thirty-one"}),
                            "NETSIFT_MAX_NEW_DAYS_PER_OBJECT", "integer", ".env")  # fmt: skip
    assert "thirty-one" not in line
    one_line_mistake(run_cli("report", env={"NETSIFT_MAX_NEW_DAYS_PER_OBJECT": "0"}),
                     "NETSIFT_MAX_NEW_DAYS_PER_OBJECT", "greater than 0")  # fmt: skip


def test_postgresql_database_that_does_not_exist(pg_url):
    missing = pg_url.rsplit("/", 1)[0] + f"/netsift_missing_{uuid.uuid4().hex[:8]}"
    one_line_mistake(run_cli("cloudfront", str(SAMPLE), "--database-url", missing),
                     missing.rsplit("/", 1)[1], "does not exist", "createdb")  # fmt: skip


def test_no_aws_credentials_for_an_s3_source(tmp_path):
    result = run_cli(
        "cloudfront", "s3://netsift-logs/cf", "--database-url", f"sqlite:///{tmp_path / 'n.db'}",
        env={"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
             "AWS_EC2_METADATA_DISABLED": "true"},
        drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"),
    )  # fmt: skip
    one_line_mistake(result, "no AWS credentials", "AWS_ACCESS_KEY_ID")


def test_a_bucket_that_does_not_exist(s3, tmp_path):
    bucket = f"missing-{uuid.uuid4().hex[:10]}"
    result = run_cli("cloudfront", f"s3://{bucket}/cf", "--database-url", f"sqlite:///{tmp_path / 'n.db'}",
                     env={"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"]})  # fmt: skip
    one_line_mistake(result, bucket, "does not exist")


def test_a_source_path_that_does_not_exist(tmp_path):
    for command in ("cloudfront", "pcap"):
        result = run_cli(command, str(tmp_path / "no-such-logs"), "--database-url", f"sqlite:///{tmp_path / 'n.db'}")
        one_line_mistake(result, "no-such-logs", "no such file or folder")


def test_a_missing_rules_file(tmp_path):
    result = run_cli("alerts", "--rules", "./my-rules.yaml", "--database-url", f"sqlite:///{tmp_path / 'n.db'}")
    one_line_mistake(result, "./my-rules.yaml", "does not exist")


def test_a_broken_rules_file_is_named_with_its_reason(tmp_path):
    rules = tmp_path / "site.yaml"
    rules.write_text("user_agent_rules:\n  - id: nested\n    type: user-agent-regex\n    pattern: '(a+)+'\n")
    result = run_cli("alerts", "--rules", str(rules), "--database-url", f"sqlite:///{tmp_path / 'n.db'}")
    one_line_mistake(result, "--rules", "nested")


@pytest.mark.slow
def test_browse_twice_on_one_port(tmp_path):
    port, url = free_port(), f"sqlite:///{tmp_path / 'n.db'}"
    first = start_process([NETSIFT, "browse", "--port", str(port), "--database-url", url], tmp_path / "first.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", first, 90, tmp_path / "first.log")
        second = run_cli("browse", "--port", str(port), "--database-url", url)
        one_line_mistake(second, f"port {port}", "--port")
        assert "netsift console on" not in second.stdout and "Dash is running" not in second.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200  # the first console is untouched
    finally:
        stop_process(first)


def test_debug_shows_the_traceback(tmp_path):
    for debug in (["--debug"], []):
        result = run_cli(*debug, "report", "--database-url", "postgersql://127.0.0.1/test",
                         env={"NETSIFT_DEBUG": "1"} if not debug else None)  # fmt: skip
        assert result.returncode != 0 and "Traceback" in result.stderr, result.stderr[-2000:]


def counting(monkeypatch, module, name: str) -> list:
    """Replace `module.name` by a wrapper that records each call: the task's attempts."""
    calls, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_flows_do_not_retry_missing_credentials_or_databases(prefect_server, pg_url, sqlite_db, tmp_path, monkeypatch):
    import netsift.tasks.cloudfront as cloudfront_tasks
    import netsift.tasks.schema as schema_tasks
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    listings = counting(monkeypatch, cloudfront_tasks, "list_objects")
    state = cloudfront_ingest(source="s3://netsift-logs/cf", return_state=True)
    assert state.is_failed() and "NoCredentialsError" in state.message
    assert len(listings) == 1

    upgrades = counting(monkeypatch, schema_tasks, "upgrade")
    monkeypatch.setenv("NETSIFT_DATABASE_URL", pg_url.rsplit("/", 1)[0] + f"/netsift_missing_{uuid.uuid4().hex[:8]}")
    state = cloudfront_ingest(source=str(SAMPLE), return_state=True)
    assert state.is_failed() and "does not exist" in state.message
    assert len(upgrades) == 1


def test_permanent_configuration_errors_are_not_transient():
    from botocore.exceptions import NoCredentialsError
    from sqlalchemy.exc import OperationalError

    from netsift.tasks.retry import is_transient

    assert not is_transient(NoCredentialsError())
    assert not is_transient(OperationalError("connect", {}, Exception('FATAL:  database "x" does not exist')))
    assert not is_transient(OperationalError("connect", {}, Exception('password authentication failed for user "x"')))
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")))


@pytest.mark.parametrize("url", ["sqlite:////no/such/folder/n.db", "mysql://root@localhost/db", "not a url"])
def test_preflight_refuses_databases_netsift_cannot_use(url):
    from netsift.preflight import Mistake, check_database_url

    with pytest.raises(Mistake) as refused:
        check_database_url(url)
    assert "\n" not in str(refused.value)


def test_a_retention_age_that_is_not_one(tmp_path):
    one_line_mistake(run_cli("prune", "--older-than", "3w", "--database-url", f"sqlite:///{tmp_path / 'n.db'}"),
                     "--older-than", "90d")  # fmt: skip
