"""Cheap checks of what a command was given, before any flow starts.

A mistake that cannot pass (a misspelt database URL, a database, bucket,
path or rules file that is not there, missing AWS credentials, a port in
use) should cost the user one line and a second or two, not a Prefect server
start, three retries and a traceback. Each check connects at most once, with
short timeouts and no retries, and raises `Mistake` with one line naming what
is wrong and how to fix it.
"""

from __future__ import annotations

import os
import socket

KNOWN_DATABASES = ("postgresql", "sqlite")
URL_HINT = "use postgresql://user@host/dbname or sqlite:///file.db (--database-url or NETSIFT_DATABASE_URL)"


class Mistake(Exception):
    """A user's mistake: the message is one line saying what is wrong and how to fix it."""


def one_line(text: object, max_chars: int = 300) -> str:
    """Driver messages span lines ("FATAL:  database … \\nHINT: …"): keep them on one."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1] + "…"


def check_database_url(url: str) -> None:
    """The URL parses and names a database netsift supports; the URL itself
    (which may hold a password) is never echoed, only its scheme."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise Mistake(f"the database URL is not a URL: {URL_HINT}") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in KNOWN_DATABASES:
        raise Mistake(f"unknown database URL scheme {parsed.drivername!r}: {URL_HINT}")
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = os.path.dirname(os.path.abspath(parsed.database))
        if not os.path.isdir(folder):
            raise Mistake(f"SQLite database folder {folder} does not exist: create it or fix the URL")


def check_database(url: str, timeout_seconds: int = 3) -> None:
    """The URL is sound and the database answers one connection."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from netsift.db import normalized_url
    from netsift.settings import redacted

    check_database_url(url)
    normalized = normalized_url(url)
    connect_args = {} if normalized.startswith("sqlite") else {"connect_timeout": timeout_seconds}
    engine = create_engine(normalized, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        reason = one_line(getattr(error, "orig", None) or error)
        hint = "create it (createdb) or fix --database-url / NETSIFT_DATABASE_URL"
        raise Mistake(f"cannot use database {redacted(url)}: {reason}; {hint}") from None
    finally:
        engine.dispose()


def check_source(source: str) -> None:
    """A local path exists; an s3:// source's bucket answers with these credentials."""
    if source.startswith("s3://"):
        check_s3(source)
    elif "://" in source:
        raise Mistake(f"source {source}: give s3://bucket[/prefix] or a local file or folder")
    elif not os.path.exists(source):
        raise Mistake(f"source {source}: no such file or folder")


def check_s3(uri: str, timeout_seconds: int = 3) -> None:
    """Credentials exist and the bucket answers `head_bucket`, once, without
    botocore's retries: throttling is not expected from a single HEAD, and a
    wrong name or key does not get better by asking again."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from urllib.parse import urlparse

    bucket = urlparse(uri).netloc
    if not bucket:
        raise Mistake(f"source {uri}: an S3 source is s3://bucket[/prefix]")
    session = boto3.session.Session()
    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise Mistake(f"AWS credentials for {uri}: {one_line(error)}") from None
    if credentials is None:
        raise Mistake(f"no AWS credentials for {uri}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY")  # fmt: skip
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=timeout_seconds, read_timeout=timeout_seconds)  # fmt: skip
    try:
        session.client("s3", config=config).head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket"):
            raise Mistake(f"S3 bucket {bucket!r} does not exist: check the name in {uri}") from None
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise Mistake(f"S3 refused access to bucket {bucket!r} ({code}): check the AWS "
                          "credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the bucket's policy") from None  # fmt: skip
        raise Mistake(f"S3 bucket {bucket!r}: {one_line(error)}") from None
    except BotoCoreError as error:
        raise Mistake(f"cannot reach S3 for {uri}: {one_line(error)}; check AWS_ENDPOINT_URL, "
                      "AWS_REGION and the network") from None  # fmt: skip


def check_port_free(host: str, port: int) -> None:
    """Bind and release the address the console will listen on, as its
    server will (SO_REUSEADDR), so a second console fails before it prints
    that it is running."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise Mistake(f"--host {host}: {one_line(error)}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            raise Mistake(f"port {port} on {host} is not free ({error.strerror}): stop what uses it "
                          "or choose another with --port") from None  # fmt: skip
