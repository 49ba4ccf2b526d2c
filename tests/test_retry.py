"""Which errors the Prefect tasks retry."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError
from sqlalchemy.exc import OperationalError, ProgrammingError

from netsift.tasks.retry import is_transient


def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetObject")


def test_network_throttling_and_lost_databases_are_retried():
    assert is_transient(client_error("SlowDown"))
    assert is_transient(client_error("InternalError"))
    assert is_transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(ConnectionResetError())


def test_permanent_errors_are_not():
    for code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "PreconditionFailed"):
        assert not is_transient(client_error(code))
    assert not is_transient(ProgrammingError("SELECT x", {}, Exception("syntax error")))
    assert not is_transient(ValueError("bad data"))
    assert not is_transient(FileNotFoundError("no such file"))
