"""The docs ship with the code: a short README, links and cited paths that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.frontends.cli.environment.images import variables_markdown

REPO = Path(__file__).parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "benchmarks/RESULTS.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A path into the repository as the docs and the code cite it (`harness/model/cells.py`).
CITED_PATH = re.compile(
    r"(?<![\w./-])((?:harness|tests|scenarios|benchmarks|docs|scripts)/[\w./-]*[\w/])"
)
TOP_FOLDERS = ("harness", "tests", "scenarios", "benchmarks", "docs", "scripts")


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    lines = markdown.read_text().splitlines()
    return {_slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def broken_links(document: Path) -> list[str]:
    """Relative links of `document` whose file (or heading) does not exist."""
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: - not ours to check here
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        exists = resolved.exists()
        missing_heading = exists and anchor and resolved.suffix == ".md"
        if not exists or (missing_heading and anchor not in _anchors(resolved)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_link_check_finds_a_broken_link_and_a_missing_heading(tmp_path: Path) -> None:
    """The control: a link to a missing file and one to a missing heading are both reported."""
    (tmp_path / "other.md").write_text("# Other\n\n## A section, with words\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-section-with-words) [web](https://example.org)\n"
        "[gone](missing.md) [no heading](other.md#nowhere) [both](gone.md#a)\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#nowhere", "gone.md#a"]


def test_the_readme_is_a_front_door() -> None:
    """At most 150 lines: what it is, the two commands, the table, a way in per reader."""
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    text = "\n".join(lines)
    assert "make persistence" in text
    assert "make test" in text


def _cited_paths(text: str) -> set[str]:
    found = set()
    for path in CITED_PATH.findall(text):
        if any(mark in path for mark in ("<", "*", "...")):
            continue  # a pattern, not a path
        found.add(path.rstrip("."))
    return found


def _sources() -> list[Path]:
    files = [*DOCS, REPO / "Makefile", REPO / ".ci" / "run"]
    for folder in ("harness", "tests", "scenarios", "benchmarks", "scripts"):
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".sh", ".yaml")]
    # This file cites missing paths on purpose (its controls).
    return [f for f in files if f != Path(__file__)]


def test_every_path_the_docs_and_the_code_cite_exists() -> None:
    """A path named in the docs, the code or the tests is in the repository (DESIGN.md, which
    was outside it, is the example of what this catches)."""
    missing = {
        f"{source.relative_to(REPO)}: {path}"
        for source in _sources()
        for path in _cited_paths(source.read_text(errors="replace"))
        if not (REPO / path).exists()
    }
    assert sorted(missing) == []
    assert not [s for s in _sources() if "DESIGN.md" in s.read_text(errors="replace")]


def test_the_path_check_sees_a_missing_path() -> None:
    """The control: a cited path that does not exist is found; a pattern is not a path."""
    text = "see `harness/model/cells.py`, `harness/model/nowhere.py` and `docs/<name>.md`."
    assert _cited_paths(text) == {"harness/model/cells.py", "harness/model/nowhere.py"}
    assert not (REPO / "harness/model/nowhere.py").exists()


def test_the_variables_list_is_the_table_the_code_reads() -> None:
    """docs/images.md carries `python -m harness images variables` verbatim: a variable added to
    the table without the docs (or the reverse) is red here."""
    text = (REPO / "docs" / "images.md").read_text()
    begin = text.index("-->\n", text.index("<!-- variables:begin")) + len("-->\n")
    end = text.index("<!-- variables:end -->")
    assert text[begin:end] == variables_markdown(), "run `python -m harness images variables`"


def _environment_variables_read() -> set[str]:
    """Every `HARNESS_*` variable the harness, its scripts and its Makefile name."""
    sources = [*(REPO / "harness").rglob("*.py"), *(REPO / "scripts").glob("*.sh"),
               REPO / "Makefile", *(REPO / "harness/images/context").rglob("*.sh")]  # fmt: skip
    found: set[str] = set()
    for source in sources:
        found |= set(re.findall(r"(?<![\w])HARNESS_[A-Z][A-Z_]*[A-Z]", source.read_text()))
    return found - {"HARNESS_KEYS"}  # a Python constant of the swarm check, not a variable


def test_contracts_name_every_variable_marker_and_pytest_option() -> None:
    from harness.frontends.pytest.plugin import MARKERS  # noqa: PLC0415

    contracts = (REPO / "docs/contracts.md").read_text()
    missing = [v for v in sorted(_environment_variables_read()) if f"`{v}`" not in contracts]
    missing += [f"marker {m}" for m in MARKERS if f"`{m}`" not in contracts and m in {
        "persistence", "layers", "volumes", "durability", "compose", "swarm", "grading",
        "faults", "engine"}]  # fmt: skip
    plugin = "\n".join(p.read_text() for p in (REPO / "harness/frontends").rglob("*.py"))
    options = set(re.findall(r'addoption\(\s*"(--[a-z-]+)"', plugin))
    missing += [o for o in sorted(options) if f"`{o}" not in contracts]
    assert missing == [], f"docs/contracts.md does not name: {missing}"
