"""Running `netsift …` in a child process and measuring it, for the benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_WRAPPER = (
    "import atexit, resource, sys\n"
    "def peak():\n"
    "    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    print('maxrss_kb', me, kids, file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from netsift.deployments.cli import main\n"
    "sys.argv = ['netsift', *sys.argv[1:], '--json']\n"
    "main()\n"
)


def run_cli(args: list[str], database_url: str) -> tuple[float, dict, int]:
    """(seconds, the command's JSON summary, peak RSS in bytes of the CLI
    process or the largest of its children, tshark included)."""
    env = {**os.environ, "NETSIFT_DATABASE_URL": database_url, "PREFECT_LOGGING_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"netsift {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    me, kids = done.stderr.rsplit("maxrss_kb", 1)[1].split()[:2]
    return seconds, json.loads(done.stdout.strip().splitlines()[-1]), max(int(me), int(kids)) * 1024
