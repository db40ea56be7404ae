"""The lab spec: the issue's example validates; every problem is named with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.grading.lab import AnswerCheck, BadLab, MaxLayersCheck, SurvivalCheck, load_lab

EXAMPLE = """
title: Volumes 101
checks:
  - id: data-survives-recreate
    points: 4
    kind: persists
    actions: [recreate, kill-start]
    description: Your container keeps the Persons rows when it is removed and created again.
    hint: A named volume outlives its container (notes, "Volumes").
  - id: chained-run
    points: 2
    kind: max-layers
    max: 1
  - id: volume-declared
    points: 2
    kind: declares-volume
    path: /var/lib/mysql
  - id: builds
    points: 1
    kind: builds
  - id: exp3-layers
    points: 1.5
    kind: answer
    key: exp3_layers
    expected: 3
"""


def _lab(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lab.yaml").write_text(text)
    return tmp_path


def test_the_issues_example_validates(tmp_path: Path) -> None:
    """Every kind of the contract, fractional points, the folder or the file itself."""
    lab = load_lab(_lab(tmp_path, EXAMPLE))
    assert lab.title == "Volumes 101"
    assert [c.id for c in lab.checks] == [
        "data-survives-recreate", "chained-run", "volume-declared", "builds", "exp3-layers",
    ]  # fmt: skip
    assert lab.max_score == 10.5
    survival = lab.checks[0]
    assert isinstance(survival, SurvivalCheck)
    assert survival.actions == ["recreate", "kill-start"]
    assert isinstance(lab.checks[1], MaxLayersCheck)
    assert lab.checks[1].max == 1
    answer = lab.checks[4]
    assert isinstance(answer, AnswerCheck)
    assert answer.expected == 3
    assert load_lab(tmp_path / "lab.yaml") == lab


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("actions: [recreate, kill-start]", "actions: [recreate, reboot]"),
         "lab.yaml: checks[0].actions: found ['recreate', 'reboot']; unknown action(s) ['reboot']"),
        # A submission is one image; an upgrade needs two.
        (("actions: [recreate, kill-start]", "actions: [upgrade]"),
         "lab.yaml: checks[0].actions: found ['upgrade']; unknown action(s) ['upgrade']; "
         "allowed: restart"),
        (("id: chained-run", "id: Chained_Run"),
         "lab.yaml: checks[1].id: found 'Chained_Run'; String should match pattern"),
        (("points: 2\n    kind: max-layers", "points: 0\n    kind: max-layers"),
         "lab.yaml: checks[1].points: found 0; Input should be greater than 0."),
        (("    max: 1\n", ""), "lab.yaml: checks[1].max: found nothing; Field required."),
        (("kind: builds", "kind: teleport"),
         "lab.yaml: checks[3].kind: found 'teleport'; Input tag 'teleport'"),
        (("path: /var/lib/mysql", "path: var/lib/mysql"),
         "lab.yaml: checks[2].path: found 'var/lib/mysql'; String should match pattern '^/'"),
        (("    hint: A named", "    colour: red\n    hint: A named"),
         "lab.yaml: checks[0].colour: found 'red'; Extra inputs are not permitted."),
        (("id: builds", "id: chained-run"),
         "lab.yaml: checks: found"),
        (("title: Volumes 101", "name: Volumes 101"),
         "lab.yaml: title: found nothing; Field required."),
    ],
)  # fmt: skip
def test_each_problem_names_file_key_found_and_allowed(
    change: tuple[str, str], message: str, tmp_path: Path
) -> None:
    """One line per problem: the file, the key path, what was found, what is allowed."""
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(BadLab) as bad:
        load_lab(_lab(tmp_path, EXAMPLE.replace(old, new, 1)))
    assert message in str(bad.value)


def test_repeated_ids_are_named(tmp_path: Path) -> None:
    """Two checks with one id: the id is named."""
    with pytest.raises(BadLab, match="check ids must be unique; repeated: chained-run"):
        load_lab(_lab(tmp_path, EXAMPLE.replace("id: builds", "id: chained-run")))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    """Invalid YAML is one sentence with the line number."""
    with pytest.raises(
        BadLab,
        match=r"^lab\.yaml: line 2: not valid YAML \(.+\); check the indentation and quoting\.$",
    ):
        load_lab(_lab(tmp_path, "title: x\nchecks: a: b\n"))


def test_a_missing_lab_is_one_sentence(tmp_path: Path) -> None:
    """No lab.yaml in the folder: the path and what to pass."""
    with pytest.raises(BadLab, match=r"lab\.yaml: cannot be read"):
        load_lab(tmp_path)
