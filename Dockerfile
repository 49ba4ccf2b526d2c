# The netsift worker image: the flows, their Debian packages, pinned Python deps.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark libmagic1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/netsift
COPY pyproject.toml constraints.txt README.md alembic.ini prefect.yaml ./
COPY netsift netsift
COPY flows flows
COPY tasks tasks
COPY deployments deployments
COPY migrations migrations
RUN pip install --no-cache-dir -c constraints.txt -e .

ENV NETSIFT_HOME=/opt/netsift \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    PREFECT_HOME=/tmp/prefect
USER nobody
