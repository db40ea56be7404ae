"""The pre-commit hook (`.pre-commit-hooks.yaml`), run by pre-commit itself on a repository made
here: it installs this checkout into its own environment (as it would from a `rev:` of ours) and
runs `compose-check --static` on the compose files being committed, failing the commit when a
must-survive action would lose the rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging_steps import REPO, clean_environment

LOSES_ON_DOWN = """services:
  db:
    image: postgres:17
    environment:
      POSTGRES_PASSWORD: example
"""
KEEPS = """services:
  db:
    image: postgres:17
    environment:
      POSTGRES_PASSWORD: example
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
"""


def _git(repository: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repository, check=True, capture_output=True, timeout=60)


def _hook(repository: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` of this checkout's hook on the repository's files (try-repo takes
    the checkout's uncommitted changes too, so the hook under test is this tree's)."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "compose-check-static",
         "--all-files", "--color", "never"],
        cwd=repository, env=clean_environment(PRE_COMMIT_HOME=str(home)),
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip


def test_the_hook_fails_a_file_that_loses_its_data_and_passes_the_fix(tmp_path: Path) -> None:
    repository = tmp_path / "team"
    repository.mkdir()
    _git(repository, "init", "--quiet")
    (repository / "compose.yaml").write_text(LOSES_ON_DOWN)
    (repository / "README.md").write_text("not a compose file: the hook leaves it alone\n")
    _git(repository, "add", ".")

    failed = _hook(repository, tmp_path / "pre-commit-home")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "db would lose its rows on down-up" in failed.stdout
    assert "README.md" not in failed.stdout

    (repository / "compose.yaml").write_text(KEEPS)
    _git(repository, "add", ".")
    passed = _hook(repository, tmp_path / "pre-commit-home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
