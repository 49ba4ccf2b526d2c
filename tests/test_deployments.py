"""prefect.yaml and deployments/serve.py name real flows with valid parameters."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT


def test_every_prefect_yaml_entrypoint_is_a_flow_taking_its_parameters():
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {}
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        names[deployment["name"]] = flow.name
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties)
        for schedule in deployment.get("schedules", []):
            assert schedule["timezone"] == "UTC"
    assert names == {"hourly": "cloudfront-ingest", "every-5-minutes": "pcap-ingest",
                     "every-15-minutes": "detect", "backfill": "cloudfront-ingest", "daily": "prune"}  # fmt: skip
    detect = next(d for d in config["deployments"] if d["name"] == "every-15-minutes")
    assert detect["triggers"][0]["expect"] == ["prefect.flow-run.Completed"]
    assert "password" not in (ROOT / "prefect.yaml").read_text().lower()


def test_serve_builds_the_same_deployments():
    from netsift.deployments.serve import deployments

    served = {d.name: d for d in deployments("s3://logs/cf", "/srv/captures")}
    assert set(served) == {"hourly", "every-5-minutes", "every-15-minutes", "backfill", "daily"}
    assert served["daily"].parameters == {"older_than": "90d"}
    assert served["hourly"].parameters == {"source": "s3://logs/cf", "lookback_hours": 26}
    assert served["every-5-minutes"].parameters == {"source": "/srv/captures"}
    assert {d.name for d in deployments("s3://logs/cf")} == {"hourly", "every-15-minutes", "backfill", "daily"}


def test_example_automation_is_a_valid_prefect_automation():
    from prefect.events.schemas.automations import AutomationCore

    raw = yaml.safe_load((ROOT / "deployments" / "automations" / "alerts-to-slack.yaml").read_text())
    raw["actions"][0]["block_document_id"] = "00000000-0000-0000-0000-000000000000"
    automation = AutomationCore.model_validate(raw)
    assert automation.trigger.expect == {"netsift.alert.created"}
