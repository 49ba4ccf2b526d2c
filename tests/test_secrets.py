"""Credentials never reach Prefect: not in parameters, logs, artifacts or names."""

from __future__ import annotations

import gzip

import pytest

from tests.cloudfront_lines import line, log_text

pytestmark = pytest.mark.prefect

DB_PASSWORD = "dbPassw0rd-9f3c1e"
AWS_SECRET = "awsSecretKey-7d2b4a"


def test_no_secret_in_what_prefect_stores(prefect_server, pg, s3, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId,
    )  # fmt: skip

    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    # PostgreSQL here trusts local connections, so a password in the URL is
    # accepted and ignored: the run works, and the URL carries a secret.
    with_password = pg.replace("postgresql://postgres@", f"postgresql://postgres:{DB_PASSWORD}@")
    monkeypatch.setenv("NETSIFT_DATABASE_URL", with_password)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2024-01-01-00.a.gz", Body=gzip.compress(log_text(line()).encode()))
    s3.put_object(Bucket=s3.bucket, Key="cf/E1.2024-01-01-01.b.gz", Body=b"\x1f\x8bbroken")
    state = cloudfront_ingest(source=f"s3://{s3.bucket}/cf", return_state=True)
    assert state.is_failed()  # one object is broken: errors are logged too
    run_id = state.state_details.flow_run_id
    import time

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        deadline = time.monotonic() + 30
        while True:  # logs travel to the server in batches
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            if any("failed:" in entry.message for entry in logs) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    stored = [run.name, repr(run.parameters), state.message or ""]
    stored += [entry.message for entry in logs]
    stored += [repr(a.data) + (a.description or "") for a in artifacts]
    assert any("schema up to date on postgresql://postgres:***@" in text for text in stored)
    for text in stored:
        assert DB_PASSWORD not in text and AWS_SECRET not in text
