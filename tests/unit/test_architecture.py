"""The layout's promises: packages import only downward, and the plugin's import stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
# Ground floor first; a package may import only from those before it (and itself).
LAYERS = [
    "errors", "model", "containers", "images", "engines", "persistence", "grading", "frontends",
]  # fmt: skip
HEAVY = ("docker", "psycopg", "pymysql", "testcontainers")


def _module_name(path: Path) -> str:
    """`harness/model/cells.py` -> `harness.model.cells`; a package's `__init__` is the package."""
    parts = list(path.relative_to(HARNESS.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every `harness...` module `source` imports, at any depth (lazy imports count too), in
    every form: `import harness.x`, `from harness.x import y`, `from harness import x` (the
    module x when it is one, else the package itself) and relative imports."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from harness import errors` imports a module; `from harness import name`, the
            # package (its __init__), which counts as importing it.
            found |= {f"{base}.{a.name}" for a in node.names if _is_module(base, a.name)}
    return {name for name in found if name == "harness" or name.startswith("harness.")}


def _is_module(package: str, name: str) -> bool:
    folder = HARNESS.parent.joinpath(*package.split("."))
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def _floor(module: str) -> str:
    """The floor (a LAYERS entry) of a harness module; the package root is `harness`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "harness"


def _imports(path: Path) -> set[str]:
    """The floors a module imports from."""
    source = path.read_text()
    module = _module_name(path)
    return {
        _floor(m) for m in imported_modules(source, module, is_package=path.name == "__init__.py")
    }


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


@pytest.mark.parametrize(
    ("source", "module", "seen"),
    [
        ("from harness.grading.lab import Lab", "harness.model.x", "harness.grading.lab"),
        ("import harness.frontends.cli.main", "harness.model.x", "harness.frontends.cli.main"),
        ("import harness.grading as g", "harness.model.x", "harness.grading"),
        ("from harness import grading", "harness.model.x", "harness.grading"),
        ("from harness import check_persistence", "harness.model.x", "harness"),
        ("from ..grading import lab", "harness.model.x", "harness.grading"),
        ("from ..grading.lab import Lab", "harness.model.x", "harness.grading.lab"),
        ("from . import cells", "harness.model.x", "harness.model.cells"),
        ("def f():\n    from harness.grading import lab", "harness.model.x", "harness.grading"),
    ],
)
def test_every_import_form_is_seen(source: str, module: str, seen: str) -> None:
    """Absolute, `from harness import`, relative and lazy imports all count."""
    assert seen in imported_modules(source, module)


def test_no_import_circle_between_modules() -> None:
    """No module imports, at any depth or lazily, a module that imports it back (a circle
    within one floor is still a circle: one of its modules holds what the other needs)."""
    graph: dict[str, set[str]] = {}
    for path in HARNESS.rglob("*.py"):
        module = _module_name(path)
        found = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py")
        # A package's __init__ importing its own modules (lazily, to re-export) is not a circle.
        graph[module] = {m for m in found if m != module and not module.startswith(f"{m}.")}
    assert _circles(graph) == []


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_circle_finder_finds_a_circle() -> None:
    """The control: a two-module circle and a three-module one are found, a chain is not."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"g"}, "g": set()}
    assert sorted(_circles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_every_package_is_on_a_floor() -> None:
    """A new subpackage must be placed in LAYERS (and so in docs/architecture.md's table)."""
    packages = {p.name for p in HARNESS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS)


def test_plugin_and_public_api_import_nothing_heavy() -> None:
    """pytest loads the plugin in every run of the environment: no SDK, driver or
    testcontainers until a harness fixture is used."""
    probe = (
        "import sys, harness, harness.frontends.pytest.plugin, harness.model.cells; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_api_resolves_lazily() -> None:
    """`import harness` loads no module a public name lives in; the first use of a name loads
    its module and no other layer (check_persistence's brings the engine layer); every name
    resolves."""
    probe = """
import json, sys, harness
where = {m for m in harness._WHERE.values() if m != "harness.errors"}
loaded = lambda: sorted(m for m in where if m in sys.modules)
seen = {"at import": loaded()}
harness.Outcome
seen["after Outcome"] = loaded()
seen["docker before check_persistence"] = "docker" in sys.modules
harness.check_persistence
seen["after check_persistence"] = loaded()
seen["docker after"] = "docker" in sys.modules
seen["all resolve"] = all(getattr(harness, n) is not None for n in harness.__all__)
print(json.dumps(seen))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    seen = json.loads(result.stdout)
    assert seen["at import"] == []
    assert "harness.model.outcomes" in seen["after Outcome"]
    assert not any(m.startswith(("harness.persistence", "harness.containers"))
                   for m in seen["after Outcome"])  # fmt: skip
    assert seen["docker before check_persistence"] is False
    assert "harness.persistence.byo" in seen["after check_persistence"]
    assert seen["docker after"] is True
    assert seen["all resolve"] is True


# A room a reader takes in at a glance: past this, a folder splits into rooms of its own.
MAX_MODULES_PER_FOLDER = 12


def test_no_folder_holds_more_than_twelve_modules() -> None:
    crowded = {
        str(folder.relative_to(HARNESS.parent)): count
        for folder in [HARNESS, *(p for p in HARNESS.rglob("*") if p.is_dir())]
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}, "split these folders (modules, __init__.py counted): " + str(crowded)
