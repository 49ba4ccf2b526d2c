"""Schedules fire: a real `prefect server start` with its services creates the
upcoming runs of every scheduled deployment, and a worker (or `netsift serve`)
runs one when it comes due.

The server runs with its scheduler on, in its own PREFECT_HOME and port, so
the scheduled runs it makes never reach the session server of the other tests.
Its log must stay free of errors (see conftest.running_prefect_server).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from tests.conftest import BIN, ROOT, free_port, running_prefect_server, start_process, stop_process

pytestmark = pytest.mark.prefect
PREFECT = str(BIN / "prefect")


@pytest.fixture
def scheduling_server(tmp_path_factory):
    """A server of its own per test, whose scheduler visits deployments every
    2 s (60 s by default)."""
    home = tmp_path_factory.mktemp("prefect-scheduling")
    with running_prefect_server(
        home / "home", free_port(), services=True, log=home / "server.log",
        env={"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"},
    ) as api:  # fmt: skip
        yield {"PREFECT_API_URL": api, "PREFECT_HOME": str(home / "home")}


def client_for(api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class _Client:
        def __enter__(self):
            self._settings = temporary_settings(updates={PREFECT_API_URL: api_url})
            self._settings.__enter__()
            self._client = get_client(sync_client=True)
            return self._client.__enter__()

        def __exit__(self, *exc):
            self._client.__exit__(*exc)
            self._settings.__exit__(*exc)

    return _Client()


def cli(*args, env, timeout=240):
    done = subprocess.run([PREFECT, "--no-prompt", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def runs_of(client, deployment_id):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    )


def wait_until(what: str, seconds: float, check):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(1)


def completed_scheduled_run(client, deployment_id):
    return next((r for r in runs_of(client, deployment_id)
                 if r.auto_scheduled and r.state and r.state.is_completed()), None)  # fmt: skip


def test_deployed_schedules_create_runs_and_a_worker_runs_one_when_due(scheduling_server, pg, tmp_path):
    env = {**os.environ, **scheduling_server, "NETSIFT_HOME": str(ROOT), "NETSIFT_DATABASE_URL": pg,
           "NETSIFT_CLOUDFRONT_SOURCE": str(tmp_path), "NETSIFT_PCAP_SOURCE": str(tmp_path)}  # fmt: skip
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    scheduled = [d for d in config["deployments"] if d.get("schedules")]
    assert len(scheduled) == 4
    # prefect.yaml as shipped, plus one deployment whose schedule falls due within the test.
    detect = next(d for d in config["deployments"] if d["entrypoint"].startswith("flows/detect.py"))
    config["deployments"].append({**detect, "name": "due-soon", "triggers": [],
                                  "schedules": [{"interval": 15}]})  # fmt: skip
    project_file = tmp_path / "prefect.yaml"
    project_file.write_text(yaml.safe_dump(config))

    cli("work-pool", "create", "netsift-process", "--type", "process", "--overwrite", env=env)
    deployed_at = datetime.now(timezone.utc)
    cli("deploy", "--all", "--prefect-file", str(project_file), env=env)

    flow_of = {"flows/cloudfront_ingest.py": "cloudfront-ingest", "flows/pcap_ingest.py": "pcap-ingest",
               "flows/detect.py": "detect", "flows/prune.py": "prune"}  # fmt: skip
    with client_for(scheduling_server["PREFECT_API_URL"]) as client:
        for deployment in scheduled:
            flow_name = flow_of[deployment["entrypoint"].split(":")[0]]
            found = client.read_deployment_by_name(f"{flow_name}/{deployment['name']}")
            upcoming = wait_until(
                f"scheduled runs of {flow_name}/{deployment['name']}", 90,
                lambda: [r for r in runs_of(client, found.id) if r.state_name == "Scheduled" and r.auto_scheduled],
            )  # fmt: skip
            assert all(r.expected_start_time > datetime.now(timezone.utc) - timedelta(minutes=1)
                       for r in upcoming)  # fmt: skip

        due_soon = client.read_deployment_by_name("detect/due-soon")
        worker = start_process([PREFECT, "worker", "start", "--pool", "netsift-process"],
                               tmp_path / "worker.log", env=env)  # fmt: skip
        try:
            run = wait_until("a scheduled detect run completed by the worker", 180,
                             lambda: completed_scheduled_run(client, due_soon.id))  # fmt: skip
        finally:
            stop_process(worker)
    # Made by the scheduler after the deploy, and run by the worker (not by hand).
    assert run.auto_scheduled and run.expected_start_time > deployed_at
    assert run.state.is_completed() and run.work_pool_name == "netsift-process"


def test_netsift_serve_creates_scheduled_runs_and_runs_one_when_due(scheduling_server, pg, tmp_path):
    """`netsift serve` with detection every minute: the server's scheduler
    makes the runs of every served deployment, the serving process runs them."""
    env = {**os.environ, **scheduling_server, "NETSIFT_DATABASE_URL": pg,
           "NETSIFT_DETECT_CRON": "* * * * *"}  # fmt: skip
    env.pop("NETSIFT_CLOUDFRONT_SOURCE", None)
    served = start_process([str(BIN / "netsift"), "serve", "--cloudfront-source", str(tmp_path),
                            "--pcap-source", str(tmp_path)], tmp_path / "serve.log", env=env)  # fmt: skip
    try:
        with client_for(scheduling_server["PREFECT_API_URL"]) as client:
            names = {"cloudfront-ingest/hourly", "pcap-ingest/every-5-minutes", "detect/every-15-minutes",
                     "prune/daily"}

            def deployments_with_upcoming_runs():
                found = set()
                for name in names:
                    try:
                        deployment = client.read_deployment_by_name(name)
                    except Exception:  # not served yet
                        continue
                    if any(r.state_name == "Scheduled" for r in runs_of(client, deployment.id)):
                        found.add(name)
                return found == names

            wait_until("scheduled runs of every served deployment", 90, deployments_with_upcoming_runs)
            detect = client.read_deployment_by_name("detect/every-15-minutes")
            run = wait_until("a scheduled detect run completed by `netsift serve`", 150,
                             lambda: completed_scheduled_run(client, detect.id))  # fmt: skip
    finally:
        served.send_signal(signal.SIGINT)  # Ctrl-C, as an operator stops it
        served.wait(timeout=30)
    assert run.state.is_completed()
    assert "Traceback" not in (tmp_path / "serve.log").read_text(errors="replace")


def test_serve_after_deploy_runs_deployments_and_detection_follows_each_ingest(scheduling_server, pg, tmp_path):
    """`prefect deploy --all`, then `netsift serve` over the same deployment
    names: a run of the backfill deployment completes under `serve` (no
    "storage at None" crash), and a detect run follows it by itself."""
    from tests.cloudfront_lines import line, log_text

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "E9SRV.2024-03-01-12.a").write_text(log_text(*(
        line(c_ip="203.0.113.77", time=f"12:00:0{i}", cs_uri_stem=path, sc_status="404")
        for i, path in enumerate(["/wp-login.php", "/xmlrpc.php", "/wp-includes/wlwmanifest.xml"]))))  # fmt: skip
    (tmp_path / "captures").mkdir()
    env = {**os.environ, **scheduling_server, "NETSIFT_HOME": str(ROOT), "NETSIFT_DATABASE_URL": pg,
           "NETSIFT_CLOUDFRONT_SOURCE": str(logs), "NETSIFT_PCAP_SOURCE": str(tmp_path / "captures")}  # fmt: skip
    cli("work-pool", "create", "netsift-process", "--type", "process", "--overwrite", env=env)
    cli("deploy", "--all", env=env)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    served = start_process([str(BIN / "netsift"), "serve"], tmp_path / "serve.log", env=env, cwd=elsewhere)
    try:
        with client_for(scheduling_server["PREFECT_API_URL"]) as client:
            def served_backfill():
                try:
                    found = client.read_deployment_by_name("cloudfront-ingest/backfill")
                except Exception:
                    return None
                return found if found.entrypoint.startswith("netsift.flows.") else None

            backfill = wait_until("serve to take over the deployments", 60, served_backfill)
            ingest = client.create_flow_run_from_deployment(backfill.id)
            done = wait_until("the backfill run to finish under serve", 120,
                              lambda: (r := client.read_flow_run(ingest.id)).state.is_final() and r)  # fmt: skip
            assert done.state.is_completed(), (done.state.message, (tmp_path / "serve.log").read_text()[-3000:])
            detect = client.read_deployment_by_name("detect/every-15-minutes")
            followed = wait_until("a detect run triggered by the completed ingest", 120, lambda: next(
                (r for r in runs_of(client, detect.id) if not r.auto_scheduled and r.state.is_completed()), None))  # fmt: skip
    finally:
        served.send_signal(signal.SIGINT)
        served.wait(timeout=30)
    assert followed.state.is_completed()
    from sqlalchemy import text

    from netsift.db import engine_for

    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT client_ip FROM alerts WHERE rule = 'wordpress-probe'")).scalars().all() == [
            "203.0.113.77"]
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log and "storage at None" not in log
