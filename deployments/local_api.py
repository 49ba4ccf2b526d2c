"""netsift's local Prefect API: one process per PREFECT_HOME, shared by the
commands that run flows, stopping by itself when no command has used it for
a while.

Why a separate, reused process: importing and starting Prefect's API app
costs about 3.5 s on a small machine, more than the run of a small flow, and
every command paid it again. The first command starts this process; the next
commands find it through `netsift-api.json` in PREFECT_HOME and start in
about half the time. The runs stay exactly as real and as local as before:
Prefect's own API app (`create_app`, as `prefect server start` and Prefect's
temporary server serve it) on Prefect's local database, on loopback only.

Why it cannot be left behind: every command holds a shared lock on
`netsift-api.clients` for as long as it runs (the kernel drops the lock when
a command dies, `kill -9` included). The API stops once no command has held
that lock for `NETSIFT_LOCAL_API_IDLE_SECONDS` (default 300), or at once when
its PREFECT_HOME disappears. Start-up and stopping both happen under an
exclusive lock on `netsift-api.lock`, so a command never picks an API that
is about to stop, and two commands starting together start one API.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

STATE_FILE, LOCK_FILE, CLIENTS_FILE, LOG_FILE = (
    "netsift-api.json", "netsift-api.lock", "netsift-api.clients", "netsift-api.log",
)  # fmt: skip
START_TIMEOUT_SECONDS = 60.0


def prefect_home() -> Path:
    return Path(os.path.expanduser(os.environ.get("PREFECT_HOME", "~/.prefect")))


def _prefect_version() -> str:
    from importlib.metadata import version

    return version("prefect")


@contextmanager
def _locked(path: Path, mode: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, mode)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _running(home: Path) -> str | None:
    """The URL of this home's API if it runs, answers, and serves the Prefect
    version installed now (after an upgrade the old one is left to stop)."""
    try:
        state = json.loads((home / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if state.get("prefect") != _prefect_version() or not _healthy(state["url"]):
        return None
    return state["url"]


def _start(home: Path, idle_seconds: float) -> tuple[str, bool]:
    """Under the start lock: the running API's URL, or a new one's."""
    url = _running(home)
    if url:
        return url, False
    (home / STATE_FILE).unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    with open(home / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "netsift.deployments.local_api", "--idle-seconds", str(idle_seconds)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prefect's local API stopped at start-up (exit {process.returncode}); "
                               f"see {home / LOG_FILE}, or set PREFECT_API_URL to a running Prefect server")  # fmt: skip
        try:
            state = json.loads((home / STATE_FILE).read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("pid") == process.pid and _healthy(state["url"]):
            return state["url"], True
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"Prefect's local API did not start within {START_TIMEOUT_SECONDS:.0f} s; "
                       f"see {home / LOG_FILE}")  # fmt: skip


@contextmanager
def _held(home: Path, find):
    """What `find()` returns under the start lock, with this command counted
    as a client (the shared lock, taken before the start lock is released:
    see the module's docstring) until the block ends."""
    with _locked(home / LOCK_FILE, fcntl.LOCK_EX):
        found = find()
        clients = open(home / CLIENTS_FILE, "a+")
        fcntl.flock(clients, fcntl.LOCK_SH)
    try:
        yield found
    finally:
        clients.close()  # releases the shared lock


@contextmanager
def local_api(idle_seconds: float):
    """The URL of this PREFECT_HOME's local API, held in use until the block ends.
    Yields (url, started) where `started` says whether this command started it."""
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    with _held(home, lambda: _start(home, idle_seconds)) as found:
        yield found


@contextmanager
def running_local_api():
    """This PREFECT_HOME's local API if one runs now (never starting one), held
    in use until the block ends; None if there is none."""
    home = prefect_home()
    if not (home / STATE_FILE).exists():
        yield None
        return
    with _held(home, lambda: _running(home)) as url:
        yield url


# --- the API process ---------------------------------------------------------


def _attached(clients) -> bool:
    """Whether some command holds the clients lock now."""
    try:
        fcntl.flock(clients, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(clients, fcntl.LOCK_UN)
    return False


def _watch(server, home: Path, sock: socket.socket, idle_seconds: float) -> None:
    """Publish the API once it serves; stop it once idle for long enough."""
    while not server.started and not server.should_exit:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    state = {"pid": os.getpid(), "url": url, "prefect": _prefect_version(), "started": time.time()}
    temporary = home / f"{STATE_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(state))
    temporary.replace(home / STATE_FILE)
    clients = open(home / CLIENTS_FILE, "a+")
    idle_since = time.monotonic()
    while not server.should_exit:
        time.sleep(1.0)
        if not home.is_dir():
            break
        if _attached(clients):
            idle_since = time.monotonic()
            continue
        if time.monotonic() - idle_since < idle_seconds:
            continue
        with _locked(home / LOCK_FILE, fcntl.LOCK_EX):
            if _attached(clients):  # a command attached while we waited for the lock
                idle_since = time.monotonic()
                continue
            try:
                if json.loads((home / STATE_FILE).read_text()).get("pid") == os.getpid():
                    (home / STATE_FILE).unlink()
            except (OSError, ValueError):
                pass
            break
    server.should_exit = True


def serve(idle_seconds: float) -> None:
    from netsift.deployments.prefect_api import quiet_prefect

    quiet_prefect()
    home = prefect_home()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    import uvicorn
    from prefect.server.api.server import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(ephemeral=True, final=True), log_level="error",
                                           lifespan="on"))  # fmt: skip
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(server, home, sock, idle_seconds), daemon=True,
                     name="netsift-api-idle").start()  # fmt: skip
    server.run(sockets=[sock])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="netsift's local Prefect API (started by the CLI).")
    parser.add_argument("--idle-seconds", type=float, required=True)
    serve(parser.parse_args().idle_seconds)
