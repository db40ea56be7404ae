"""The package as a user gets it: the sdist and wheel built from this checkout, and a fresh
virtual environment outside it. Shared by the packaging, CI-example and pre-commit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What a child process of a test must not inherit: the running pytest's own settings and this
# checkout's environment (a user's shell has neither).
_INHERITED_NOT = ("PYTEST_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path

    @property
    def folder(self) -> Path:
        return self.wheel.parent


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without pytest's and the checkout's variables."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_NOT)}
    return kept | overrides


def build_dists(out: Path) -> tuple[Dists, str]:
    """`python -m build` of the checkout (the sdist, then the wheel built from the sdist, so a
    file the sdist forgets is missing from the wheel too); the build's output."""
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True, text=True, env=clean_environment(), check=False, timeout=600,
        cwd=out,  # not the checkout: its `build/` folder would shadow the `build` module
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(sdist, wheel), output


def fresh_venv(where: Path) -> Path:
    """A new virtual environment (its own pip, nothing installed); its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    return where / "bin"
