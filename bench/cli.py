"""`make bench-cli`: wall time of CLI commands without a configured Prefect
server, against Prefect's own temporary server, measured in the same run.

- `netsift report` and `netsift status` on the demo data (they start no server);
- `netsift cloudfront <one sample file>`: the flow reports to netsift's local
  Prefect API, timed for the command that starts it and for a later command
  that reuses it, and with the API served inside the CLI process instead;
- baseline: the same flow with Prefect's default when no PREFECT_API_URL is
  set (what the CLI did before): a temporary server started as a subprocess;
- for comparison, `netsift cloudfront` with PREFECT_API_URL naming a running
  `prefect server start` (what production does).
Each command runs `--repeat` times (median) on a fresh SQLite database, with
one PREFECT_HOME warmed up first. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "cloudfront" / "samples"
SAMPLE = SAMPLES / "matomo-log-analytics" / "amazon_cloudfront_web.log"
NETSIFT = str(Path(sys.executable).parent / "netsift")
BASELINE = ("from netsift.flows.cloudfront_ingest import cloudfront_ingest; "
            "import sys; cloudfront_ingest(source=sys.argv[1], return_state=True)")  # fmt: skip


def timed(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    work = Path(tempfile.mkdtemp(prefix="netsift-bench-cli-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home")}
    for name in ("PREFECT_API_URL", "NETSIFT_DATABASE_URL"):
        env.pop(name, None)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the baseline too, for a fair race

    def database(name: str) -> dict:
        return {**env, "NETSIFT_DATABASE_URL": f"sqlite:///{work / name}.db"}

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server_env = {**env, "PREFECT_HOME": str(work / "server-home"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port), "--no-services", "--analytics-off"], env=server_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        measure(work, env, database, server_env, repeat)
    finally:
        server.terminate()
        server.wait(timeout=30)


def stop_local_api(home: Path) -> None:
    """So that the next command starts netsift's local API afresh."""
    import json
    import signal

    try:
        pid = json.loads((home / "netsift-api.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return
    os.kill(pid, signal.SIGTERM)
    while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]:
        time.sleep(0.05)
    (home / "netsift-api.json").unlink(missing_ok=True)


def measure(work: Path, env: dict, database, server_env: dict, repeat: int) -> None:
    import urllib.request

    for _ in range(600):
        try:
            urllib.request.urlopen(server_env["PREFECT_API_URL"] + "/health", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    demo = database("demo")
    timed([NETSIFT, "cloudfront", str(SAMPLES)], demo)  # demo data, and PREFECT_HOME warmed up
    results: dict[str, list[float]] = {}
    for round_ in range(repeat):
        stop_local_api(Path(env["PREFECT_HOME"]))
        for label, args, environment in (
            ("netsift cloudfront <one file>, first command (starts the local API)",
             [NETSIFT, "cloudfront", str(SAMPLE)], database(f"first{round_}")),
            ("netsift cloudfront <one file>, a later command (reuses it)",
             [NETSIFT, "cloudfront", str(SAMPLE)], database(f"later{round_}")),
            ("netsift report (demo data)", [NETSIFT, "report"], demo),
            ("netsift status (demo data, runs from the local API)", [NETSIFT, "status"], demo),
            ("netsift cloudfront <one file>, API inside the CLI (IDLE_SECONDS=0)",
             [NETSIFT, "cloudfront", str(SAMPLE)],
             {**database(f"inside{round_}"), "NETSIFT_LOCAL_API_IDLE_SECONDS": "0"}),
            ("netsift cloudfront <one file>, PREFECT_API_URL set", [NETSIFT, "cloudfront", str(SAMPLE)],
             {**server_env, "NETSIFT_DATABASE_URL": f"sqlite:///{work / f'server{round_}'}.db"}),
            ("baseline: the same flow, Prefect's temporary server",
             [sys.executable, "-c", BASELINE, str(SAMPLE)], database(f"old{round_}")),
        ):  # fmt: skip
            results.setdefault(label, []).append(timed(args, environment))
    stop_local_api(Path(env["PREFECT_HOME"]))
    load = os.getloadavg()[0]
    print(f"median of {repeat} runs, wall seconds (load average {load:.1f} on {os.cpu_count()} cores)")
    baseline = statistics.median(results["baseline: the same flow, Prefect's temporary server"])
    for label, times in results.items():
        median = statistics.median(times)
        print(f"{label:72} {median:6.2f} s   {median / baseline:5.2f} x baseline")


if __name__ == "__main__":
    main()
