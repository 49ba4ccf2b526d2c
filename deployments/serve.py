"""Serve every flow with its schedule from one process: a single machine, no work pool.

    NETSIFT_CLOUDFRONT_SOURCE=s3://my-logs/cf NETSIFT_PCAP_SOURCE=/srv/captures \
        python -m netsift.deployments.serve
"""

from __future__ import annotations

import os

from prefect import serve

from netsift.flows.cloudfront_ingest import cloudfront_ingest
from netsift.flows.detect import detect_flow
from netsift.flows.pcap_ingest import pcap_ingest
from netsift.settings import Settings


def deployments(source: str, pcap_source: str | None = None, settings: Settings | None = None):
    """The deployments `netsift serve` runs; their crons come from the settings
    (NETSIFT_CLOUDFRONT_CRON, NETSIFT_PCAP_CRON, NETSIFT_DETECT_CRON)."""
    settings = settings or Settings()
    served = []
    if pcap_source:
        served.append(
            pcap_ingest.to_deployment(
                name="every-5-minutes",
                cron=settings.pcap_cron,
                parameters={"source": pcap_source},
                description="Captures under a prefix or folder, every five minutes.",
            )
        )
    served.append(
        detect_flow.to_deployment(
            name="every-15-minutes",
            cron=settings.detect_cron,
            description="Bot and probe detection over everything loaded.",
        )
    )
    return served + [
        cloudfront_ingest.to_deployment(
            name="hourly",
            cron=settings.cloudfront_cron,
            parameters={"source": source, "lookback_hours": 26},
            description="CloudFront logs every hour, 26 hours back (late deliveries).",
        ),
        cloudfront_ingest.to_deployment(
            name="backfill",
            parameters={"source": source},
            description="CloudFront logs for a date range, run by hand.",
        ),
    ]


def main() -> None:
    source = os.environ.get("NETSIFT_CLOUDFRONT_SOURCE")
    if not source:
        raise SystemExit("set NETSIFT_CLOUDFRONT_SOURCE to s3://bucket/prefix or a folder")
    serve(*deployments(source, os.environ.get("NETSIFT_PCAP_SOURCE")))


if __name__ == "__main__":
    main()
