# The netsift worker image: the built wheel (not the source tree), its Debian
# packages, and the pinned Python dependencies.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark libmagic1 \
 && rm -rf /var/lib/apt/lists/*

COPY constraints.txt /tmp/constraints.txt
COPY --from=build /dist /tmp/dist
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/dist/netsift-*.whl \
 && rm -rf /tmp/dist /tmp/constraints.txt

# prefect.yaml's entrypoints are file paths under flows/: the worker's pull
# step (set_working_directory to NETSIFT_HOME) points at the installed package,
# whose netsift/flows/ holds them.
WORKDIR /opt/netsift
RUN ln -s "$(python -c 'import netsift, os; print(os.path.dirname(netsift.__file__))')/flows" flows
ENV NETSIFT_HOME=/opt/netsift \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    PREFECT_HOME=/tmp/prefect
USER nobody
