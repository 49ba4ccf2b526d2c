"""The Prefect UI, for real: deploy from prefect.yaml, run through a worker, and
look at the result in headless Chromium (Debian's, driven by Playwright).

Attacker strings go through the whole pipeline and must reach the page as
text: no element, link or image from them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cloudfront_lines import line, log_text
from netsift.db import engine_for
from tests.conftest import ROOT

pytestmark = [pytest.mark.prefect, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PREFECT = str(Path(sys.executable).parent / "prefect")
HOSTILE_AGENT = '<img src=x onerror="document.title=\'pwned\'">'
HOSTILE_PATH = "/wp-admin/[click](javascript:alert(1))"
# Screenshots go to a temp folder; NETSIFT_UPDATE_SCREENSHOTS=1 refreshes the
# README's copies in docs/ (a test run must not change tracked files).
SCREENSHOTS_TO_DOCS = os.environ.get("NETSIFT_UPDATE_SCREENSHOTS") == "1"


def prefect_cli(*args, env, timeout=240):
    done = subprocess.run([PREFECT, "--no-prompt", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def wait_for_run(flow_run_id, seconds=180):
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + seconds
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            assert time.monotonic() < deadline, f"flow run stuck in {run.state_name}"
            time.sleep(1)


def work_once(env) -> None:
    worker = subprocess.run(
        [PREFECT, "worker", "start", "--pool", "netsift-process", "--run-once"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr[-3000:]


def run_deployment(name, env, parameters=None):
    """Through the API's synchronous client, so it also runs beside Playwright's event loop."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(name)
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters or {})
    work_once(env)
    return wait_for_run(run.id)


def custom_run_from_the_ui(page, base, deployment_id, fill) -> str:
    """Run -> Custom run on the deployment's page, parameters set by `fill`,
    Submit: the flow run id the UI created."""
    page.goto(f"{base}/deployments/deployment/{deployment_id}")
    page.get_by_role("button", name="Run", exact=True).first.click()
    page.get_by_text("Custom run", exact=True).first.click()
    page.get_by_role("button", name="Submit", exact=True).wait_for(timeout=30_000)
    fill(page)
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run") and r.request.method == "POST",
                              timeout=60_000) as created:  # fmt: skip
        page.get_by_role("button", name="Submit", exact=True).click()
    assert created.value.ok, created.value.text()
    return created.value.json()["id"]


def form_property(page, name: str):
    """One parameter of Prefect's run form, by its label."""
    label = page.locator(".schema-form-property__label").filter(
        has_text=re.compile(rf"^{re.escape(name)}( \(Optional\))?$"))
    return page.locator(".schema-form-property").filter(has=label).last


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is installed by `make setup`")
def test_runs_artifacts_and_alerts_show_in_the_ui_without_attacker_markup(prefect_server, pg, tmp_path):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS = ROOT / "docs" if SCREENSHOTS_TO_DOCS else tmp_path / "screenshots"

    logs = tmp_path / "logs"
    logs.mkdir()
    agent = HOSTILE_AGENT.replace(" ", "%20").replace('"', "%22")
    lines = [line(c_ip="203.0.113.7", time=f"12:00:0{i}", cs_uri_stem=path, sc_status="404", cs_user_agent=agent)
             for i, path in enumerate(["/wp-login.php", "/xmlrpc.php", HOSTILE_PATH])]  # fmt: skip
    (logs / "E9UI.2024-03-01-12.a").write_text(log_text(*lines))
    # Deployed over an empty folder: only the source set in the UI's Run dialog has logs.
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "NETSIFT_HOME": str(ROOT), "NETSIFT_DATABASE_URL": pg,
           "NETSIFT_CLOUDFRONT_SOURCE": str(empty), "NETSIFT_PCAP_SOURCE": str(tmp_path)}  # fmt: skip
    prefect_cli("work-pool", "create", "netsift-process", "--type", "process", "--overwrite", env=env)
    prefect_cli("deploy", "--all", env=env)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        backfill = client.read_deployment_by_name("cloudfront-ingest/backfill")

    base = os.environ["PREFECT_API_URL"].removesuffix("/api")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # Only this machine's server: the UI's analytics call (and anything else) is refused.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                   else route.abort())  # fmt: skip

        def backfill_parameters(form):
            form_property(form, "source").locator("textarea").fill(str(logs))
            distribution = form_property(form, "distribution")
            distribution.get_by_role("button", name="str", exact=True).click()
            distribution.locator("input, textarea").first.fill("E9UI")

        run_id = custom_run_from_the_ui(page, base, backfill.id, backfill_parameters)
        work_once(env)
        ingest = wait_for_run(run_id)
        assert ingest.state.is_completed(), ingest.state.message
        assert ingest.parameters["source"] == str(logs) and ingest.parameters["distribution"] == "E9UI"
        with engine_for(pg).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cloudfront_requests")).scalar() == 3
        detect = run_deployment("detect/every-15-minutes", env)
        assert detect.state.is_completed(), detect.state.message

        page.goto(f"{base}/runs/flow-run/{ingest.id}")
        page.get_by_text(ingest.name).first.wait_for(timeout=60_000)
        page.get_by_text("Completed").first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / "ui-flow-run.png"), full_page=True)
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text("cloudfront-ingest-objects").first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / "ui-artifacts.png"), full_page=True)

        page.goto(f"{base}/runs/flow-run/{detect.id}")
        page.get_by_text(detect.name).first.wait_for(timeout=60_000)
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text("detect-alerts").first.click()
        page.get_by_text("wordpress-probe").first.wait_for(timeout=30_000)
        page.get_by_text("203.0.113.7").first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / "ui-alerts.png"), full_page=True)
        # The attacker's strings are on the page, as text...
        shown = page.get_by_text("onerror", exact=False)
        assert shown.count() >= 1
        print("UI shows:", shown.first.inner_text())
        assert page.get_by_text("javascript:alert", exact=False).count() >= 1
        # ...and nothing was made of them: no image, no link, no script ran.
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("a[href^='javascript:']").count() == 0
        assert page.title() != "pwned"
        browser.close()
