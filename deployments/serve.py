"""Serve every flow with its schedule from one process: a single machine, no work pool.

    NETSIFT_CLOUDFRONT_SOURCE=s3://my-logs/cf NETSIFT_PCAP_SOURCE=/srv/captures \
        python -m netsift.deployments.serve

The deployments carry the same names as prefect.yaml's. They point at the
flows by module path (`netsift.flows.detect.detect_flow`), not by file: the
serving process imports them from the installed package wherever it runs,
and a deployment that `prefect deploy --all` made first (with its pull steps
and no local path) is taken over cleanly instead of crashing on "storage at
None".
"""

from __future__ import annotations

import os

from prefect import serve
from prefect.deployments.runner import EntrypointType
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

from netsift.flows.cloudfront_ingest import cloudfront_ingest
from netsift.flows.detect import detect_flow
from netsift.flows.pcap_ingest import pcap_ingest
from netsift.flows.prune import prune_flow
from netsift.settings import Settings

INGEST_FLOWS = ["cloudfront-ingest", "pcap-ingest"]


def after_every_ingest() -> DeploymentEventTrigger:
    """prefect.yaml's trigger: detection follows every completed ingest run."""
    return DeploymentEventTrigger(
        enabled=True,
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": INGEST_FLOWS},
        expect={"prefect.flow-run.Completed"},
    )


def deployments(source: str, pcap_source: str | None = None, settings: Settings | None = None):
    """The deployments `netsift serve` runs; their crons come from the settings
    (NETSIFT_CLOUDFRONT_CRON, NETSIFT_PCAP_CRON, NETSIFT_DETECT_CRON)."""
    settings = settings or Settings()
    by_module = {"entrypoint_type": EntrypointType.MODULE_PATH}
    served = []
    if pcap_source:
        served.append(
            pcap_ingest.to_deployment(
                name="every-5-minutes",
                cron=settings.pcap_cron,
                parameters={"source": pcap_source},
                description="Captures under a prefix or folder, every five minutes.",
                **by_module,
            )
        )
    served.append(
        detect_flow.to_deployment(
            name="every-15-minutes",
            cron=settings.detect_cron,
            triggers=[after_every_ingest()],
            description="Bot and probe detection: on its schedule and after every completed ingest.",
            **by_module,
        )
    )
    return served + [
        cloudfront_ingest.to_deployment(
            name="hourly",
            cron=settings.cloudfront_cron,
            parameters={"source": source, "lookback_hours": 26},
            description="CloudFront logs every hour, 26 hours back (late deliveries).",
            **by_module,
        ),
        prune_flow.to_deployment(
            name="daily",
            cron=settings.prune_cron,
            parameters={"older_than": settings.retention},
            description="Retention: rows older than the retention age go; the ledger stays.",
            **by_module,
        ),
        cloudfront_ingest.to_deployment(
            name="backfill",
            parameters={"source": source},
            description="CloudFront logs for a date range, run by hand.",
            **by_module,
        ),
    ]


def main() -> None:
    source = os.environ.get("NETSIFT_CLOUDFRONT_SOURCE")
    if not source:
        raise SystemExit("set NETSIFT_CLOUDFRONT_SOURCE to s3://bucket/prefix or a folder")
    serve(*deployments(source, os.environ.get("NETSIFT_PCAP_SOURCE")))


if __name__ == "__main__":
    main()
