"""The process's S3 client: built once per process and AWS environment,
shared by every object and thread (building one costs ~170 ms of CPU)."""

from __future__ import annotations

import hashlib
import os
import threading

# Variables that decide which S3 client boto3's chain builds: a change (a
# test's endpoint, another profile) gets a new client, not a stale one.
_CLIENT_ENVIRONMENT = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
)  # fmt: skip
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def s3_client():
    """The process's one S3 client for the current environment.

    Building a client costs ~170 ms of CPU (botocore parses its JSON service
    model each time) and a new connection pool; one client serves every
    object and thread (boto3 clients are thread-safe; building them is not,
    hence the lock). The key holds the process id, so a forked worker builds
    its own, and a digest of the AWS variables, so no secret is kept twice.
    """
    digest = hashlib.sha256(repr([os.getpid(), *map(os.environ.get, _CLIENT_ENVIRONMENT)]).encode())
    key = digest.hexdigest()
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = new_s3_client()
    return client


def new_s3_client():
    """boto3's standard chain: env, profile, AWS_ENDPOINT_URL, instance role.

    botocore's 'standard' retry mode retries throttling, 5xx and connection
    errors with exponential backoff, NETSIFT_S3_MAX_ATTEMPTS attempts in all
    (3: an outage shows within seconds; netsift retries each object's
    transient errors again on top, see tasks/retry.py). The pool holds a
    connection for each writer slot and worker thread.
    """
    import boto3
    from botocore.config import Config

    from netsift.settings import Settings

    settings = Settings()
    config = Config(
        retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"},
        connect_timeout=settings.s3_connect_timeout_seconds,
        read_timeout=60,
        max_pool_connections=max(10, settings.workers, settings.write_slots),
    )
    return boto3.session.Session().client("s3", config=config)
