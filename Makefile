# Persistence harness: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline by default: images built here from Debian packages. Use HARNESS_IMAGES=official
# (or auto) where Docker Hub is reachable.
export HARNESS_IMAGES ?= local
# The matrices check MySQL and PostgreSQL; HARNESS_DATABASES=mysql,mariadb,postgres adds MariaDB
# (read by pytest and `harness run` from the environment).
# testcontainers' reaper image comes from a registry; the harness sweeps its own labels instead.
export TESTCONTAINERS_RYUK_DISABLED ?= true
PYTEST_ARGS ?=
# Scenarios wait on servers more than they compute: two workers (pytest-xdist) run the matrix in
# about half the time of one on a 2-core machine (benchmarks/RESULTS.md). JOBS=0: one process.
JOBS ?= 2
# worksteal: an idle worker takes tests queued behind a busy one's. The suite has tests of 3 to
# 6 minutes; with `load`, its last 7% of tests took 9 of 31 minutes under -n 4.
XDIST := $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist worksteal)

.PHONY: help setup lock engine images engines engines-down persistence compose swarm durability grade test unit lint bench bench-scale aio-experiment clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@scripts/ensure-tools.sh venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The suite runs on the versions in the lock, each checked against its hash: an upstream release
# changes nothing here until `make lock` takes it. pip refuses an editable install under
# --require-hashes, so the project itself comes second, without dependencies. Its editable
# install ends with setuptools' advice on editable installs ("Editable installation": folders
# named like the package may shadow it), true of every editable install and nothing to act on.
LOCK := requirements.lock
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet --no-deps -e .
	@touch $@

setup: $(VENV)/.installed ## virtual environment with the harness installed (editable)

# uv resolves for a Python and platform other than the one running it (the lock is for CI's and
# `make setup`'s: Debian's 3.11 on linux x86-64) in under a second; pinned like everything else.
UV_VERSION := 0.13.8
UPGRADE ?= --upgrade
lock: | $(BIN)/python ## refresh requirements.lock from pyproject.toml's ranges (UPGRADE="--upgrade-package NAME": one)
	$(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes $(UPGRADE) --quiet \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o $(LOCK)

engine: ## make sure a Docker engine answers (start or install one if needed)
	@scripts/ensure-engine.sh

images: setup engine ## build the local images (a no-op when nothing changed)
	@# The local base image is debootstrapped; official images need no build tools.
	@if [ "$(HARNESS_IMAGES)" != official ]; then scripts/ensure-tools.sh debootstrap; fi
	$(BIN)/python -m harness images build

ENGINES ?= all
engines: setup engine images ## bring up the engines under test beside the host's (docker-26, podman, swarm; ENGINES= names some)
	@scripts/ensure-tools.sh podman
	$(BIN)/python -m harness engines up $(ENGINES)

engines-down: ## remove the engines under test (ENGINES= names some; the host engine is never touched)
	@if [ -x $(BIN)/python ] && docker info >/dev/null 2>&1; then \
		$(BIN)/python -m harness engines down $(ENGINES); fi

persistence: setup engine images ## the main job: the persistence matrix and its table
	$(BIN)/pytest -m persistence $(XDIST) $(PYTEST_ARGS)

compose: setup engine images ## the compose matrix (a one-service compose project per cell)
	$(BIN)/pytest -m compose scenarios/test_compose.py $(XDIST) $(PYTEST_ARGS)

swarm: setup engine images ## the swarm matrix, on the swarm of docker-in-docker nodes (brought up when down)
	$(BIN)/python -m harness engines up swarm
	$(BIN)/pytest -m swarm scenarios/test_swarm.py $(XDIST) $(PYTEST_ARGS)

durability: setup engine images ## the crash campaigns (and the kill-start cells), nothing else beside them
	$(BIN)/pytest -m durability $(XDIST) $(PYTEST_ARGS)

LAB ?= scenarios/labs/volumes-101
SUBMISSIONS ?= $(LAB)/samples
grade: setup engine images ## grade a class: LAB=folder SUBMISSIONS=folder (default: the example lab)
	$(BIN)/python -m harness grade $(LAB) $(SUBMISSIONS) --jobs $(if $(filter 0,$(JOBS)),1,$(JOBS))

test: setup engine images ## the whole suite (unit, integration, scenarios)
	@scripts/ensure-tools.sh podman  # the Podman engine's test brings it up
	@# The slowest tests listed at the end: where the suite's minutes go (issue 24).
	$(BIN)/pytest $(XDIST) --durations=30 $(PYTEST_ARGS)

unit: setup ## only the tests that need no engine
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: setup engine images ## speed and memory against the floor and stock testcontainers (long; see benchmarks/)
	JOBS=$(JOBS) $(BIN)/python benchmarks/bench.py

bench-scale: setup engine images ## a class graded in shards: students per minute per shard, peak memory (SCALE_STUDENTS=300)
	$(BIN)/python benchmarks/grading_scale.py
aio-experiment: setup engine images ## is io_uring behind the crash campaigns' odd rounds? (long: AIO_CAMPAIGNS=40 per arm)
	HARNESS_IMAGES=$${HARNESS_IMAGES:-local} $(BIN)/python benchmarks/aio_experiment.py

lint: setup ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict harness

clean: ## remove what harness runs left on the engine (add IMAGES=1 for the images too)
	@if [ -x $(BIN)/python ] && docker info >/dev/null 2>&1; then \
		$(BIN)/python -m harness clean $(if $(IMAGES),--images); fi
	rm -rf .pytest_cache .mypy_cache .ruff_cache build *.egg-info
