"""requirements.lock: every dependency pyproject.toml names is pinned there, each with hashes,
so `make setup` (pip --require-hashes) installs the whole suite from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
LOCK = ROOT / "requirements.lock"


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    """Name -> the pinned entry, continuation lines joined."""
    text = LOCK.read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)(.*)$", line)
        if found:
            pins[_normalised(found[1])] = line
    return pins


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [_normalised(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in wanted]


def test_every_declared_dependency_is_pinned() -> None:
    """A dependency added to pyproject.toml without `make lock` would be missing from
    `make setup` (the project itself installs without dependencies)."""
    missing = sorted(set(_declared()) - set(_pins()))
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"


def test_every_pin_carries_a_hash() -> None:
    unhashed = [name for name, line in _pins().items() if "--hash=sha256:" not in line]
    assert not unhashed
    assert len(_pins()) > len(_declared())  # the dependencies' own dependencies too
