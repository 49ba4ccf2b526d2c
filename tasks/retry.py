"""Which errors are worth retrying: the network's and the database's, not the data's."""

from __future__ import annotations

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
