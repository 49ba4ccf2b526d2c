"""Which errors are worth retrying: the network's and the database's, not the data's."""

from __future__ import annotations

import threading

_PERMANENT_S3_CODES = {
    "NoSuchKey",
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "PreconditionFailed",
    "412",
    "403",
    "404",
}


# Mistakes in the configuration: asking again does not make them pass.
_PERMANENT_DATABASE_MESSAGES = ("does not exist", "authentication failed", "no password supplied")


def is_transient(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") not in _PERMANENT_S3_CODES
    if isinstance(error, (NoCredentialsError, NoRegionError)):
        return False
    if isinstance(error, DBAPIError):
        if any(message in str(error.orig) for message in _PERMANENT_DATABASE_MESSAGES):
            return False
        return bool(error.connection_invalidated) or error.__class__.__name__ == "OperationalError"
    return isinstance(error, (BotoCoreError, ConnectionError, TimeoutError))


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry only errors that may pass."""
    try:
        state.result()
    except Exception as error:  # the task's own exception, re-raised by result()
        return is_transient(error)
    return False


def io_task_options() -> dict:
    """The options every I/O task shares: no caching (loads have side
    effects), three retries with exponential backoff, only for transient errors."""
    from prefect.cache_policies import NO_CACHE
    from prefect.tasks import exponential_backoff

    return {
        "cache_policy": NO_CACHE,
        "retries": 3,
        "retry_delay_seconds": exponential_backoff(backoff_factor=2),
        "retry_condition_fn": retry_if_transient,
    }


def is_connection_failure(error: BaseException) -> bool:
    """S3 or the database could not be reached at all (refused, timed out,
    dropped): the sign of an outage, as opposed to one request going wrong."""
    from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)):
        return True
    if isinstance(error, DBAPIError):
        # psycopg's failures to connect carry no SQLSTATE; a deadlock (40P01)
        # is an OperationalError too, but the server answered.
        driver = type(error.orig).__module__.split(".")[0]
        no_sqlstate = isinstance(error, OperationalError) and getattr(error.orig, "sqlstate", "") is None
        return bool(error.connection_invalidated) or (driver == "psycopg" and no_sqlstate)
    return isinstance(error, (ConnectionRefusedError, ConnectionResetError))


DATABASE = "the database at"


def endpoint_of(error: BaseException, database_url: str, s3_client=None) -> str:
    """Which service an error came from, named for the operator: S3's
    endpoint, or the database URL with its password hidden."""
    from botocore.exceptions import BotoCoreError, ClientError

    from netsift.settings import redacted

    if isinstance(error, (BotoCoreError, ClientError)):
        return f"S3 at {s3_client.meta.endpoint_url}" if s3_client is not None else "S3"
    return f"{DATABASE} {redacted(database_url)}"


class Breaker:
    """Counts connection failures in a row across a run's loads in this
    process; once `limit` is reached the run stops trying objects, so an
    outage fails the run within a minute instead of spending every
    object's retries in turn. Any success resets the count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0
        self.reason: str | None = None
        self.endpoint = ""
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0

    def failed(self, endpoint: str, error: BaseException) -> bool:
        """Count one connection failure; True once the run should stop."""
        with self._lock:
            self.failures += 1
            if self.failures >= self.limit and self.reason is None:
                self.endpoint = endpoint
                self.reason = (f"{endpoint} unreachable ({self.failures} connection failures in a row; "
                               f"last: {type(error).__name__}: {error})")  # fmt: skip
            return self.reason is not None


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(run_key: str, limit: int) -> Breaker:
    """The run's breaker in this process (tasks of one run share it)."""
    with _breakers_lock:
        return _breakers.setdefault(run_key, Breaker(limit))


def forget_breaker(run_key: str) -> Breaker | None:
    with _breakers_lock:
        return _breakers.pop(run_key, None)
