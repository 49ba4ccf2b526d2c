"""docker-compose.yml, checked by Docker Compose's own parser (no engine runs here)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import compose
import yaml

from netsift.settings import Settings
from tests.conftest import ROOT

COMPOSE = Path(compose.__file__).parent / "docker-compose"


def config(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COMPOSE), "--project-directory", str(ROOT), "config", "--format", "json"],
        capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"], **env},
    )  # fmt: skip


def test_compose_file_is_valid_and_demands_its_secrets():
    # Compose names whichever missing secret it meets first, so test one at a time.
    for present, absent in (("MINIO_ROOT_PASSWORD", "POSTGRES_PASSWORD"), ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD")):
        missing = config({present: "x"})
        assert missing.returncode != 0 and absent in missing.stderr, missing.stderr
    assert config({}).returncode != 0
    ok = config({"POSTGRES_PASSWORD": "p", "MINIO_ROOT_PASSWORD": "m"})
    assert ok.returncode == 0, ok.stderr
    services = json.loads(ok.stdout)["services"]
    assert set(services) == {"postgres", "prefect-server", "minio", "minio-init", "worker"}
    for name in ("postgres", "prefect-server", "minio"):
        assert "healthcheck" in services[name], name


def test_compose_agrees_with_the_code_and_prefect_yaml():
    services = json.loads(config({"POSTGRES_PASSWORD": "p", "MINIO_ROOT_PASSWORD": "m"}).stdout)["services"]
    worker = services["worker"]["environment"]
    prefix = Settings.model_config["env_prefix"]
    netsift_vars = {k for k in worker if k.startswith(prefix)}
    sources = {"NETSIFT_CLOUDFRONT_SOURCE", "NETSIFT_PCAP_SOURCE"}  # read by prefect.yaml
    known = {prefix + name.upper() for name in Settings.model_fields} | sources
    assert netsift_vars <= known
    assert worker["NETSIFT_DATABASE_URL"].startswith("postgresql://netsift:p@postgres:5432/")
    assert worker["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    prefect_yaml = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    pools = {d["work_pool"]["name"] for d in prefect_yaml["deployments"]}
    assert pools == {"netsift-process"}
    assert "--pool netsift-process" in " ".join(services["worker"]["command"])
    for name in sources:
        assert name in worker and name in (ROOT / "prefect.yaml").read_text()
    published = {p["published"] for p in services["prefect-server"]["ports"]}
    assert published == {"4200"}
