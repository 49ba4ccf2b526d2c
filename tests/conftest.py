"""Real components for the tests: PostgreSQL, moto's S3 server, a Prefect server.

Prefect reads its settings when first imported, so its environment is set
here, at the top, before any test module imports it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_SESSION_DIR = Path(tempfile.mkdtemp(prefix="netsift-tests-"))
PREFECT_PORT = free_port()
os.environ.update(
    PREFECT_HOME=str(_SESSION_DIR / "prefect-home"),
    PREFECT_API_URL=f"http://127.0.0.1:{PREFECT_PORT}/api",
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    DO_NOT_TRACK="1",
    NETSIFT_LOCAL_API_IDLE_SECONDS="5",  # a local API a test starts stops soon after
    PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
)
for leftover in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "NETSIFT_DATABASE_URL"):
    os.environ.pop(leftover, None)

PG_ADMIN_URL = os.environ.get("NETSIFT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def wait_for_http(url: str, process: subprocess.Popen, seconds: float, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {seconds}s:\n{log.read_text()[-3000:]}")


def start_process(args: list[str], log: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(
        args, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd
    )


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def fresh_pg_database(prefix: str = "netsift_test"):
    """A new PostgreSQL database at the schema's head, dropped afterwards."""
    from sqlalchemy import create_engine, text

    from netsift.db import engine_for, normalized_url, upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalized_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        engine_for(url).dispose()
        engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for the session, dropped at the end."""
    with fresh_pg_database() as url:
        yield url


def _empty_tables(url: str) -> None:
    from sqlalchemy import text

    from netsift.db import engine_for
    from netsift.partitions import forget_days
    from netsift.schema import metadata

    engine = engine_for(url)
    # Earlier tests (and their subprocesses) made and dropped day partitions of
    # this session database: this process's hints about them start afresh.
    forget_days(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def pg(pg_url, monkeypatch):
    """The session's PostgreSQL database, emptied, and made the default."""
    _empty_tables(pg_url)
    monkeypatch.setenv("NETSIFT_DATABASE_URL", pg_url)
    return pg_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated to head once per test process: each test
    gets a copy, where running every migration cost each one half a second."""
    from netsift.db import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "netsift.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_db(sqlite_template, tmp_path_factory, monkeypatch):
    import sqlite3

    path = tmp_path_factory.mktemp("sqlite") / "netsift.db"
    # SQLite's backup API: a whole, consistent copy, whatever the template's WAL holds.
    with sqlite3.connect(sqlite_template) as source, sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    target.close()
    url = f"sqlite:///{path}"
    monkeypatch.setenv("NETSIFT_DATABASE_URL", url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request):
    """Each test that takes `db` runs on both databases."""
    return request.getfixturevalue("pg" if request.param == "postgresql" else "sqlite_db")


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's standalone S3 server on loopback: boto3 talks real HTTP to it."""
    port = free_port()
    log = _SESSION_DIR / "moto.log"
    process = start_process([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/moto-api/", process, 30, log)
    yield url
    stop_process(process)


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A boto3 client on the moto server, with a fresh bucket per test."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    bucket = f"logs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


# Lines a healthy `prefect server start` may log at ERROR, each with its reason.
# Everything else at ERROR, and any traceback, fails the test that started it.
SERVER_LOG_ALLOWED: dict[str, str] = {}


def server_log_problems(log: Path) -> list[str]:
    """The server log's ERROR lines and tracebacks not allow-listed above."""
    text = log.read_text(errors="replace")
    problems = []
    for number, entry in enumerate(text.splitlines(), 1):
        if ("| ERROR" in entry or "Traceback (most recent call last)" in entry) and not any(
            allowed in entry for allowed in SERVER_LOG_ALLOWED
        ):
            problems.append(f"line {number}: {entry.strip()[:300]}")
    return problems


@contextmanager
def running_prefect_server(home: Path, port: int, services: bool, log: Path, env: dict | None = None):
    """`prefect server start` on loopback with its own PREFECT_HOME; on the
    way out, its log must hold no ERROR and no traceback."""
    api = f"http://127.0.0.1:{port}/api"
    args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
            "--analytics-off"]  # fmt: skip
    if not services:
        args.append("--no-services")
    process = start_process(
        args, log, env={"PREFECT_HOME": str(home), "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api,
                        **(env or {})},
    )  # fmt: skip
    try:
        wait_for_http(api + "/health", process, 120, log)
        yield api
    finally:
        stop_process(process)
    problems = server_log_problems(log)
    assert not problems, f"the Prefect server logged errors ({log}):\n" + "\n".join(problems[:20])


@pytest.fixture(scope="session")
def prefect_server():
    """`prefect server start` on a free loopback port for the whole session,
    without its services: these tests trigger runs by hand (tests/test_schedules.py
    runs a server with its scheduler)."""
    log = _SESSION_DIR / "prefect-server.log"
    with running_prefect_server(Path(os.environ["PREFECT_HOME"]), PREFECT_PORT, False, log) as api:
        yield api
        # Send what Prefect still holds (logs, events) while the server is up;
        # otherwise its workers retry a stopped server and pytest lingers at exit.
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)


# Tiers: a test is marked with each service it needs, from the fixtures it
# takes, so the marks cannot drift from what the test really starts.
# `make test-fast` deselects them all; `make test` runs everything.
SERVICE_FIXTURES = {
    "postgres": {"pg", "pg_url"},
    "moto": {"moto_endpoint", "s3"},
    "prefect": {"prefect_server", "scheduling_server"},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("db") == "postgresql":
            fixtures.add("pg")
        for marker, needs in SERVICE_FIXTURES.items():
            if fixtures & needs:
                item.add_marker(getattr(pytest.mark, marker))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
