"""The wheel is the product: built, installed (not editable) into a fresh
virtualenv outside the repository, and run from an empty directory, it creates
its schema, loads a sample and reports, with nothing of the clone in reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.packaging


def run(args, cwd, env=None, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    build = tmp_path_factory.mktemp("build")
    # Built from a copy of the tracked files, so no build/ or egg-info lands in the clone.
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            (build / name).write_bytes((ROOT / name).read_bytes())
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(build)], cwd=build)
    (found,) = dist.glob("netsift-*.whl")
    return found


def test_the_wheel_holds_one_import_name_and_its_package_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"netsift", f"{wheel.name.split('-py3')[0]}.dist-info"}
    for needed in ("netsift/migrations/alembic.ini", "netsift/migrations/env.py",
                   "netsift/migrations/versions/0001_cloudfront.py", "netsift/detection/rules/detection.yaml",
                   "netsift/detection/rules/lists/crowdsec_backdoors.txt", "netsift/flows/detect.py",
                   "netsift/tasks/fanout.py", "netsift/deployments/cli.py"):  # fmt: skip
        assert needed in names
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["netsift"]


def test_installed_wheel_works_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    # Without compiling every dependency's bytecode ahead (15 s of the test's
    # 40 s of installing); what runs is compiled as it is imported.
    run([*pip, "install", "-q", "--no-compile", "-c", str(ROOT / "constraints.txt"), str(wheel)], cwd=tmp_path)
    run([*pip, "check"], cwd=tmp_path)
    site = Path(run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    cwd=tmp_path).strip())  # fmt: skip
    assert not {"flows", "tasks", "deployments"} & {p.name for p in site.iterdir()}

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NETSIFT_", "PYTHON", "VIRTUAL_ENV")) and k != "PREFECT_API_URL"}  # fmt: skip
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", NETSIFT_LOCAL_API_IDLE_SECONDS="5")  # fmt: skip
    netsift = str(venv / "bin" / "netsift")
    assert "schema up to date" in run([netsift, "db", "upgrade"], cwd=empty, env=env)
    assert (empty / "netsift.db").is_file()
    summary = json.loads(run([netsift, "cloudfront", str(DATA / "cloudfront" / "samples"), "--json"],
                             cwd=empty, env=env).strip().splitlines()[-1])  # fmt: skip
    assert summary["failed"] == 0 and int(summary["rows_loaded"]) == 112
    report = run([netsift, "report"], cwd=empty, env=env)
    assert "Requests per distribution" in report and "112" in report
    # The code that ran was the wheel's, not the clone's.
    where = run([str(venv / "bin" / "python"), "-c", "import netsift; print(netsift.__file__)"], cwd=empty, env=env)
    assert where.startswith(str(site))
