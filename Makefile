# Two commands on a fresh clone: `make demo` and `make test`.
# Each bootstraps .venv and the Debian packages it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DATA := tests/data/cloudfront/samples tests/data/cloudfront/demo
DEMO_CAPTURES := tests/data/pcap
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# Python's bytecode cache: with PYTHONDONTWRITEBYTECODE set (some CI images set
# it), every test run and every xdist worker compiles the project and the
# assertion-rewritten tests again, 5 s of each `make test-fast`.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup system demo test test-fast bench bench-cloudfront bench-objects bench-pcap bench-detect bench-console bench-cli bench-row-costs bench-geoip parity quality db-upgrade clean browse

setup: system $(STAMP)

# Debian packages: installed with apt-get when root, otherwise named.
system:
	@missing=""; \
	command -v tshark >/dev/null 2>&1 || missing="$$missing tshark"; \
	ldconfig -p 2>/dev/null | grep -q 'libmagic.so.1' || missing="$$missing libmagic1"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "netsift needs the Debian packages:$$missing"; \
	    echo "install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: setup
	for source in $(DEMO_DATA); do $(BIN)/netsift cloudfront $$source || exit 1; done
	$(BIN)/netsift pcap $(DEMO_CAPTURES)
	$(BIN)/netsift alerts
	$(BIN)/netsift findings
	@echo "Next: make browse, then open http://127.0.0.1:8050/ (the analyst console)"

browse: setup
	$(BIN)/netsift browse

# Test processes: one per CPU, at most 4. Most of the suite's time waits on
# servers, schedules and subprocesses, so two processes on two cores take
# 0.58 of one's time (README, "Tests by tier"). Each process has its own
# Prefect server, PostgreSQL database and moto server (tests/conftest.py).
# TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=20

# Every test that needs no service (PostgreSQL, Prefect server, moto, Chromium,
# the package index): under a minute.
test-fast: setup
	$(BIN)/python -m pytest -n auto -m "not postgres and not prefect and not moto and not browser and not packaging and not slow"

bench: bench-cloudfront bench-objects bench-pcap bench-detect bench-console

bench-cloudfront: setup
	$(BIN)/python -m bench.cloudfront

bench-objects: setup
	$(BIN)/python -m bench.objects

bench-pcap: setup
	$(BIN)/python -m bench.pcap
	$(BIN)/python -m bench.pcap_repeats

parity: setup
	$(BIN)/python -m bench.parity

bench-geoip: setup
	$(BIN)/python -m bench.geoip

bench-detect: setup
	$(BIN)/python -m bench.detect
	$(BIN)/python -m bench.detect_incremental

bench-console: setup
	$(BIN)/python -m bench.console

.PHONY: bench-partitions
bench-partitions: setup
	$(BIN)/python -m bench.partitions

bench-row-costs: setup
	$(BIN)/python -m bench.row_costs

bench-cli: setup
	$(BIN)/python -m bench.cli

# Listing without --distribution: requests of the skip scan against a full listing (moto, ~5 minutes).
.PHONY: bench-listing
bench-listing: setup
	$(BIN)/python -m bench.listing

# A busy day: 24 hourly ingest + detect runs on moto's S3 (20-40 minutes).
.PHONY: bench-day
bench-day: setup
	$(BIN)/python -m bench.day

quality: setup
	$(BIN)/python -m bench.quality

db-upgrade: setup
	$(BIN)/netsift db upgrade

clean:
	rm -rf $(VENV) netsift.db netsift.db-* .pytest_cache .hypothesis
