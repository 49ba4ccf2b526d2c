"""Which Prefect API a command's flow runs report to, and Prefect kept quiet.

With PREFECT_API_URL configured, that server. Without one, Prefect 3.8 would
start a temporary server as a *subprocess* for each command (8-10 s on a
small machine, and a `kill -9` of the CLI leaves it running under PID 1).
Prefect 3.8 has no server-less mode (`get_client` needs an API, and
PREFECT_SERVER_EPHEMERAL_ENABLED only chooses whether that subprocess may
start), so netsift serves Prefect's own API app (the same `create_app` the
temporary server runs, on the same PREFECT_HOME database) itself:

- by default from one local process per PREFECT_HOME that the commands
  share and that stops by itself once unused (`local_api.py`): commands
  after the first skip the 3.5 s of starting Prefect's API;
- with NETSIFT_LOCAL_API_IDLE_SECONDS=0, from a thread of the CLI process on
  a loopback port, which dies with the command.

Either way the runs stay real: states, task runs, logs, artifacts and events
are recorded in Prefect's local database and can be browsed later with
`prefect server start`. Only the server's background services (scheduler,
automations) do not run, as in Prefect's own temporary server.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager

# Prefect's analytics (the server's telemetry heartbeat, the client's events)
# stay off unless the user turned them on.
QUIET_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def quiet_prefect() -> None:
    """Before Prefect is imported: telemetry off, unless the user set it."""
    if "PREFECT_SERVER_ANALYTICS_ENABLED" in os.environ or "DO_NOT_TRACK" in os.environ:
        return
    os.environ.update(QUIET_DEFAULTS)


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile,
    read from profiles.toml without importing Prefect: Prefect fixes its
    settings when first imported, and `prefect_api` must set the URL before."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    import tomllib

    home = os.path.expanduser(os.environ.get("PREFECT_HOME", "~/.prefect"))
    path = os.path.expanduser(os.environ.get("PREFECT_PROFILES_PATH", os.path.join(home, "profiles.toml")))
    try:
        with open(path, "rb") as handle:
            profiles = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    return (profiles.get("profiles", {}).get(active) or {}).get("PREFECT_API_URL") or None


@contextmanager
def prefect_api():
    """A Prefect API for the flow runs of this command (see the module's docstring)."""
    if configured_api_url():
        yield
        return
    from netsift.settings import Settings

    idle_seconds = Settings().local_api_idle_seconds
    if idle_seconds > 0:
        with _shared_local_api(idle_seconds):
            yield
        return
    with _api_in_this_process():
        yield


@contextmanager
def _shared_local_api(idle_seconds: float):
    from netsift.deployments.cli_output import error_line
    from netsift.deployments.local_api import local_api

    with local_api(idle_seconds) as (url, started):
        if started:
            error_line(f"started Prefect's local API on {url} for this and later commands; it stops after "
                       f"{idle_seconds:g} s unused (NETSIFT_LOCAL_API_IDLE_SECONDS)")  # fmt: skip
        os.environ["PREFECT_API_URL"] = url  # before Prefect is imported, so every thread's settings see it
        try:
            yield
        finally:
            _drain()


@contextmanager
def _api_in_this_process():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Before Prefect is imported, so every thread's settings see it.
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    import uvicorn
    from prefect.server.api.server import create_app

    app = create_app(ephemeral=True, final=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="netsift-prefect-api")  # fmt: skip
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("Prefect's API did not start in this process; set PREFECT_API_URL "
                               "to a running Prefect server")  # fmt: skip
        time.sleep(0.02)
    try:
        yield
    finally:
        _drain()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _drain() -> None:
    """Send the logs and events Prefect still holds while the API is up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


def database_tags(url: str) -> list[str]:
    """The tag every run of this command carries, telling `netsift status`
    which database it wrote to, without the URL (it may hold a password)."""
    from netsift.analyst.status import database_tag

    return [database_tag(url)]
