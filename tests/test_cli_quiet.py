"""Issue 12, parts 2 and 3: commands that only read start no Prefect server;
without a configured server a run is still recorded (by Prefect's API served
in netsift's shared local API process, which stops once unused, or inside
the CLI process); output is quiet and scriptable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsift.analyst.status import database_tag
from netsift.deployments.cli import counts_line
from netsift.flows.cloudfront_ingest import window_name
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA

NETSIFT = str(Path(sys.executable).parent / "netsift")
SAMPLE = DATA / "cloudfront" / "samples" / "matomo-log-analytics" / "amazon_cloudfront_web.log"


def serverless_env(tmp_path: Path) -> dict:
    """No Prefect server configured, a fresh PREFECT_HOME, telemetry settings unset."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "NETSIFT_LOCAL_API_IDLE_SECONDS": "3"}
    for name in ("PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        env.pop(name, None)
    return env


def local_api_pid(home: Path) -> int | None:
    try:
        return json.loads((home / "netsift-api.json").read_text())["pid"]
    except (OSError, ValueError):
        return None


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([NETSIFT, *args], capture_output=True, text=True, timeout=300, env=env or dict(os.environ))


@pytest.mark.slow
def test_read_commands_start_no_prefect_server(sqlite_db, tmp_path):
    env = serverless_env(tmp_path)
    for args in (["report"], ["status"], ["status", "--json"]):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "temporary server" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["runs_error"].startswith("no Prefect server configured")
    assert not (tmp_path / "prefect-home" / "prefect.db").exists()  # no Prefect API was started


@pytest.mark.prefect  # Prefect's API, in the CLI's process
def test_a_run_without_a_server_is_recorded_and_quiet(tmp_path):
    env = serverless_env(tmp_path)
    url = f"sqlite:///{tmp_path / 'n.db'}"
    result = run_cli("cloudfront", str(SAMPLE), "--database-url", url, env=env)
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown[-3000:]
    assert "1 object: 1 loaded, 0 skipped, 0 partial, 0 failed; 1 row loaded, 0 rejected" in result.stdout
    for noise in ("telemetry", "temporary server", "ERROR", "Traceback", "…"):
        assert noise not in shown, noise
    with sqlite3.connect(tmp_path / "prefect-home" / "prefect.db") as prefect_db:
        ((name, state, tags),) = prefect_db.execute("SELECT name, state_type, tags FROM flow_run").fetchall()
        loads = prefect_db.execute("SELECT tags FROM task_run WHERE name LIKE 'load %'").fetchall()
    assert (name, state) == (f"cloudfront {SAMPLE}", "COMPLETED")
    assert json.loads(tags) == [database_tag(url)]
    # Load tasks run untagged: a tagged task run waits for Prefect's tag concurrency check.
    assert loads and all(json.loads(task_tags) == [] for (task_tags,) in loads)


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.prefect
def test_commands_share_one_local_api_that_stops_once_unused(tmp_path):
    """Two commands started together start one local API; a later command and
    `status` reuse it; with no command left it stops and unpublishes itself."""
    env = {**serverless_env(tmp_path), "NETSIFT_LOCAL_API_IDLE_SECONDS": "4"}
    home = tmp_path / "prefect-home"
    both = [subprocess.Popen([NETSIFT, "cloudfront", str(SAMPLE), "--database-url", f"sqlite:///{tmp_path / name}.db"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for name in ("a", "b")]  # fmt: skip
    outputs = [cli.communicate(timeout=300) for cli in both]
    assert [cli.returncode for cli in both] == [0, 0], outputs
    started = [err for _, err in outputs if "started Prefect's local API" in err]
    assert len(started) == 1, outputs
    pid = local_api_pid(home)
    assert pid and Path(f"/proc/{pid}").exists()
    later = run_cli("cloudfront", str(SAMPLE), "--database-url", f"sqlite:///{tmp_path / 'c.db'}", env=env)
    assert later.returncode == 0 and "started Prefect's local API" not in later.stderr, later.stderr[-2000:]
    assert local_api_pid(home) == pid
    shown = run_cli("status", "--json", "--database-url", f"sqlite:///{tmp_path / 'c.db'}", env=env)
    assert [run["state"] for run in json.loads(shown.stdout)["runs"]] == ["Completed"], shown.stdout[-2000:]
    with sqlite3.connect(home / "prefect.db") as prefect_db:
        states = prefect_db.execute("SELECT state_type FROM flow_run WHERE name LIKE 'cloudfront %'").fetchall()
    assert states == [("COMPLETED",)] * 3
    assert gone(pid, within=30)
    assert local_api_pid(home) is None  # unpublished: the next command starts a new one
    again = run_cli("cloudfront", str(SAMPLE), "--database-url", f"sqlite:///{tmp_path / 'd.db'}", env=env)
    assert again.returncode == 0 and "started Prefect's local API" in again.stderr, again.stderr[-2000:]
    assert gone(local_api_pid(home) or 0, within=30)


@pytest.mark.prefect
@pytest.mark.parametrize("idle_seconds", ["0", "3"])
def test_a_killed_cli_leaves_no_process_behind(tmp_path, idle_seconds):
    """The CLI is killed with SIGKILL while its flow waits for the SQLite
    write lock (held here): nothing it started may outlive it, except the
    shared local API (idle_seconds > 0), which stops once unused."""
    db = tmp_path / "n.db"
    run_cli("db", "upgrade", "--database-url", f"sqlite:///{db}")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    log = (tmp_path / "cli.log").open("w+")
    env = {**serverless_env(tmp_path), "NETSIFT_LOCAL_API_IDLE_SECONDS": idle_seconds}
    cli = subprocess.Popen([NETSIFT, "cloudfront", str(SAMPLE), "--database-url", f"sqlite:///{db}"],
                           stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        for _ in range(600):
            if "Task run 'upgrade-schema" in (tmp_path / "cli.log").read_text() or cli.poll() is not None:
                break
            time.sleep(0.2)
        shown = (tmp_path / "cli.log").read_text()
        assert cli.poll() is None and "Task run 'upgrade-schema" in shown, shown[-3000:]
        started = descendants(cli.pid)
        api = local_api_pid(tmp_path / "prefect-home")
        assert (api is None) == (idle_seconds == "0")
        cli.send_signal(signal.SIGKILL)
        cli.wait()
        if api:
            assert api in started and gone(api, within=30)  # stops by itself once unused
        for _ in range(100):
            alive = {pid for pid in started if Path(f"/proc/{pid}").exists()}
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in alive]
    finally:
        if cli.poll() is None:
            cli.kill()
        holder.execute("ROLLBACK")
        holder.close()


def test_status_lists_the_runs_of_its_own_database_only(prefect_server, tmp_path):
    from prefect import tags

    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    mine, other = f"sqlite:///{tmp_path / 'mine.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    for name in ("mine", "other"):
        shutil.copytree(DATA / "cloudfront" / "samples" / "ironholds-webreadr", tmp_path / f"logs-{name}")
    loaded = run_cli("cloudfront", str(tmp_path / "logs-mine"), "--database-url", mine)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    os.environ["NETSIFT_DATABASE_URL"] = other
    try:
        with tags(database_tag(other)):
            assert cloudfront_ingest(source=str(tmp_path / "logs-other"), return_state=True).is_completed()
    finally:
        del os.environ["NETSIFT_DATABASE_URL"]
    shown = run_cli("status", "--json", "--database-url", mine)
    assert shown.returncode == 0, shown.stderr[-2000:]
    names = [run["name"] for run in json.loads(shown.stdout)["runs"]]
    assert names == [f"cloudfront {tmp_path / 'logs-mine'}"]


def test_database_tags_hide_the_url():
    tag = database_tag("postgresql://ops:s3cret@db.internal:5432/netsift")
    assert tag.startswith("netsift-db:") and "s3cret" not in tag and "db.internal" not in tag
    assert tag == database_tag("postgresql+psycopg://ops:other@db.internal:5432/netsift")  # the same database
    assert tag != database_tag("postgresql://ops:s3cret@db.internal:5432/staging")


@pytest.mark.prefect
def test_status_json_counts_are_numbers(db, tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "E1ABC.2024-03-01-10.x").write_text(log_text(line(), line(time="12:00:02")))
    loaded = run_cli("cloudfront", str(tmp_path / "logs"), "--database-url", db, "--json", env=serverless_env(tmp_path))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert json.loads(loaded.stdout.strip().splitlines()[-1])["rows_loaded"] == 2
    shown = run_cli("status", "--json", "--no-runs", "--database-url", db)
    (objects,) = json.loads(shown.stdout)["objects"]
    assert objects["rows_loaded"] == 2 and objects["objects"] == 1


@pytest.mark.prefect
def test_piped_tables_keep_each_value_on_one_line(sqlite_db, tmp_path):
    ipv6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
    agent = "Mozilla/5.0 \x1b[31mred\x1b[0m " + "x" * 150
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "day.log").write_text(log_text(line(c_ip=ipv6, cs_user_agent=agent.replace(" ", "%20"))))
    assert run_cli("cloudfront", str(tmp_path / "logs"), "--json", env=serverless_env(tmp_path)).returncode == 0
    report = run_cli("report")
    assert report.returncode == 0, report.stderr[-2000:]
    assert f"{ipv6}\t1\t1" in report.stdout.splitlines()
    assert "\x1b" not in report.stdout and "\\x1b[31mred\\x1b[0m " + "x" * 150 + "\t1" in report.stdout
    assert "│" not in report.stdout and "┃" not in report.stdout


@pytest.mark.parametrize(("params", "name"), [
    ({"source": "./logs"}, "cloudfront ./logs"),
    ({"source": "s3://b/cf", "lookback_hours": 26}, "cloudfront s3://b/cf last 26h"),
    ({"source": "s3://b/cf", "since": "2026-11-01", "until": "2026-11-02", "distribution": "E2ABC"},
     "cloudfront s3://b/cf 2026-11-01..2026-11-02 E2ABC"),
    ({"source": "s3://b/cf", "since": "2026-11-01"}, "cloudfront s3://b/cf since 2026-11-01"),
    ({"source": "s3://b/cf", "until": "2026-11-02"}, "cloudfront s3://b/cf until 2026-11-02"),
])  # fmt: skip
def test_run_names_say_what_the_run_is_about(params, name):
    assert window_name(params) == name


def test_counts_read_as_english():
    one = {"objects": 1, "loaded": 1, "skipped": 0, "partial": 0, "failed": 0, "rows_loaded": 1, "rows_rejected": 0}
    assert counts_line(one) == "1 object: 1 loaded, 0 skipped, 0 partial, 0 failed; 1 row loaded, 0 rejected"
    many = {**one, "objects": 2, "rows_loaded": 0, "rows_connections": 1, "rows_dns_queries": 3}
    assert counts_line(many).startswith("2 objects: ") and "0 rows loaded" in counts_line(many)
    assert counts_line(many).endswith("(1 row in connections, 3 rows in dns_queries)")


def test_telemetry_is_off_unless_the_user_turned_it_on(monkeypatch):
    from netsift.deployments.prefect_api import quiet_prefect

    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        monkeypatch.delenv(name, raising=False)
    quiet_prefect()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and os.environ["DO_NOT_TRACK"] == "1"
    monkeypatch.delenv("DO_NOT_TRACK")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")
    quiet_prefect()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true" and "DO_NOT_TRACK" not in os.environ


def test_the_server_of_the_active_prefect_profile_counts_as_configured(tmp_path, monkeypatch):
    from netsift.deployments.prefect_api import configured_api_url

    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    assert configured_api_url() is None
    (tmp_path / "profiles.toml").write_text('active = "prod"\n[profiles.local]\n[profiles.prod]\n'
                                            'PREFECT_API_URL = "http://prefect.internal:4200/api"\n')  # fmt: skip
    assert configured_api_url() == "http://prefect.internal:4200/api"
    monkeypatch.setenv("PREFECT_PROFILE", "local")
    assert configured_api_url() is None
