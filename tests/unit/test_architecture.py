"""The layout's promises: packages import only downward, and the plugin's import stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"
# Ground floor first; a package may import only from those before it (and itself).
LAYERS = [
    "errors", "model", "containers", "images", "engines", "persistence", "grading", "frontends",
]  # fmt: skip
HEAVY = ("docker", "psycopg", "pymysql", "testcontainers")


def _imports(path: Path) -> set[str]:
    """The harness packages a module imports, at any depth (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness."):
            found.add(node.module.split(".")[1])
    return found


def test_packages_import_only_downward() -> None:
    """No package reaches up a floor (which is how cycles and heavy imports creep in)."""
    upward = []
    for layer in LAYERS:
        target = HARNESS / layer
        modules = sorted(target.rglob("*.py")) if target.is_dir() else [HARNESS / f"{layer}.py"]
        allowed = set(LAYERS[: LAYERS.index(layer) + 1])
        for module in modules:
            upward += [f"{module.relative_to(HARNESS)} -> {p}" for p in _imports(module) - allowed]
    assert upward == []


def test_every_package_is_on_a_floor() -> None:
    """A new subpackage must be placed in LAYERS (and so in the README's table)."""
    packages = {p.name for p in HARNESS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS)


def test_plugin_and_public_api_import_nothing_heavy() -> None:
    """pytest loads the plugin in every run of the environment: no SDK, driver or
    testcontainers until a harness fixture is used."""
    probe = (
        "import sys, harness, harness.frontends.pytest_plugin, harness.model.cells; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_api_resolves_lazily() -> None:
    """Every name in harness.__all__ resolves (and check_persistence is among them)."""
    import harness  # noqa: PLC0415

    assert "check_persistence" in harness.__all__
    for name in harness.__all__:
        assert getattr(harness, name) is not None
