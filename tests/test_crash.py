"""A real crash: the loading process is killed with SIGKILL in the middle of COPY."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from bench.generate import write_objects
from netsift.db import engine_for
from netsift.settings import Settings
from netsift.cloudfront.load import load_object
from netsift.ingest.sources import Window, list_local

LOADER = """
import sys
from netsift.db import engine_for
from netsift.settings import Settings
from netsift.cloudfront.load import load_object
from netsift.ingest.sources import Window, list_local
url = sys.argv[1]
for obj in list_local(sys.argv[2], Window.of()):
    load_object(engine_for(url), obj, Settings(database_url=url))
"""


def copy_in_progress(url: str) -> bool:
    with engine_for(url).connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'COPY \"cloudfront_requests\"%' AND state = 'active'"
                )
            ).scalar()
        )


def test_sigkill_during_copy_leaves_nothing_and_the_rerun_loads_all(pg, tmp_path):
    (obj_path,) = write_objects(tmp_path / "logs", requests=200_000, objects=1)
    process = subprocess.Popen(
        [sys.executable, "-c", LOADER, pg, str(tmp_path / "logs")],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    deadline = time.monotonic() + 60
    while not copy_in_progress(pg):
        assert process.poll() is None, "the loader finished before it could be killed"
        assert time.monotonic() < deadline, "no COPY seen"
        time.sleep(0.02)
    time.sleep(0.3)  # let some rows stream in
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cloudfront_requests")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM source_objects")).scalar() == 0

    (obj,) = list_local(tmp_path / "logs", Window.of())
    result = load_object(engine_for(pg), obj, Settings(database_url=pg))
    assert (result.status, result.rows_loaded) == ("loaded", 200_000)
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cloudfront_requests")).scalar() == 200_000
