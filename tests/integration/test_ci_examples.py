"""The CI examples in docs/ci/ run: every `run:` step of the GitHub Actions workflow and every
`script:` line of the GitLab CI file, in order, in a repository made here (a Dockerfile and a
compose file, as a team's), in a fresh virtual environment that installs the built wheel.

What differs from a hosted runner, and how:
- the install line finds the wheel built from this checkout (PIP_FIND_LINKS; the package is not
  on the index yet), its dependencies come from the index as for a user;
- no registry is reachable here: a `docker` on PATH before the real one turns `docker pull` into
  a no-op, and HARNESS_IMAGES=local makes the harness run the local images in place of the
  official ones (the stand-in table); the team's Dockerfile builds FROM the local MySQL image
  where the documentation's says `FROM mysql:9.7`;
- testcontainers' reaper image is not here either (TESTCONTAINERS_RYUK_DISABLED, as `make` sets);
- `uses:` steps (checkout, setup-python, upload-artifact) and GitLab's `before_script` (the job
  image's Docker CLI) prepare what this machine already is; GitLab's DOCKER_HOST names its
  docker-in-docker service, here the engine is this machine's;
- IMAGE, the tag the examples build, is unique per test, and removed after it.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging_steps import REPO, Dists, clean_environment, fresh_venv

from harness.containers.engine import Engine

CI = REPO / "docs" / "ci"
SCHEMAS = REPO / "docs" / "schemas"
# The runner's own settings that mean something else here (see the module's docstring).
_RUNNER_ONLY = ("DOCKER_HOST", "DOCKER_TLS_CERTDIR")

PULL_IS_A_NO_OP = """#!/bin/sh
# No registry is reachable here; the local images stand in for the pulled ones.
if [ "$1" = pull ]; then echo "test: docker $* skipped (local images stand in)"; exit 0; fi
exec {docker} "$@"
"""

COMPOSE_FILE = """services:
  db:
    image: postgres:18
    environment:
      POSTGRES_PASSWORD: example
    volumes:
      - pgdata:/var/lib/postgresql
volumes:
  pgdata:
"""


def _github_steps(workflow: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The jobs' environment and their `run:` steps, in order."""
    env: dict[str, str] = {}
    steps: list[str] = []
    for job in workflow["jobs"].values():
        env |= {k: str(v) for k, v in (job.get("env") or {}).items()}
        steps += [step["run"] for step in job["steps"] if "run" in step]
    return env, steps


def _gitlab_steps(pipeline: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The pipeline's variables and its jobs' `script:` lines, in order (hidden `.` jobs are
    templates)."""
    env = {k: str(v) for k, v in (pipeline.get("variables") or {}).items()}
    steps: list[str] = []
    for name, job in pipeline.items():
        if isinstance(job, dict) and "script" in job and not name.startswith("."):
            steps += list(job["script"])
    return env, steps


READERS = {"github-actions.yml": _github_steps, "gitlab-ci.yml": _gitlab_steps}


@pytest.fixture
def team_repository(tmp_path: Path, local_images: dict[str, str]) -> Path:
    """A team's repository: its database image's Dockerfile and its compose file."""
    repository = tmp_path / "team"
    repository.mkdir()
    (repository / "Dockerfile").write_text(
        f"FROM {local_images['mysql']}\n"
        "RUN printf '[mysqld]\\nmax_connections=50\\n' > /etc/mysql/conf.d/team.cnf\n"
    )
    (repository / "compose.yaml").write_text(COMPOSE_FILE)
    return repository


@pytest.fixture
def runner_path(tmp_path: Path) -> str:
    """PATH with the pull-as-no-op `docker` first."""
    shims = tmp_path / "shims"
    shims.mkdir()
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    shim = shims / "docker"
    shim.write_text(PULL_IS_A_NO_OP.format(docker=real))
    shim.chmod(0o755)
    return str(shims)


@pytest.mark.parametrize("example", sorted(READERS))
def test_the_examples_steps_pass_in_order(  # noqa: PLR0917 - fixtures
    example: str,
    team_repository: Path,
    runner_path: str,
    built_dists: tuple[Dists, str],
    harness_engine: Engine,
    tmp_path: Path,
) -> None:
    dists, _ = built_dists
    job_env, steps = READERS[example](yaml.safe_load((CI / example).read_text()))
    assert steps, f"{example} has no steps"
    bin_dir = fresh_venv(tmp_path / "venv")
    image = f"harness-test/team-db:{uuid.uuid4().hex[:12]}"
    here = {
        "HARNESS_IMAGES": "local",
        "IMAGE": image,
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "PIP_FIND_LINKS": str(dists.folder),
        "VIRTUAL_ENV": str(bin_dir.parent),
    }
    env = clean_environment(**(job_env | here))
    for variable in _RUNNER_ONLY:
        env.pop(variable, None)
    env["PATH"] = f"{runner_path}:{bin_dir}:{env['PATH']}"
    try:
        for step in steps:
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", step], cwd=team_repository, env=env,
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, f"{example}: `{step}` failed:\n{done.stdout}{done.stderr}"
    finally:
        if harness_engine.has_image(image):
            harness_engine.client.images.remove(image, force=True)
    for report, schema in (("persistence.json", "report"), ("compose-check.json", "compose-check")):
        _assert_kept_as_promised(team_repository / report, schema)


def _assert_kept_as_promised(report_path: Path, schema_name: str) -> None:
    """The report a step wrote obeys its schema, and every cell in it is as promised."""
    report = json.loads(report_path.read_text())
    jsonschema.validate(report, json.loads((SCHEMAS / f"{schema_name}.schema.json").read_text()))
    assert report["results"], report_path.name
    assert all(r["passed"] for r in report["results"]), report
