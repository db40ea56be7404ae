"""The lab spec (`LAB/lab.yaml`): checks with points, validated by a schema.

The format is a contract (docs/contracts.md; its schema: docs/schemas/lab.schema.json):
`title`, `checks: [{id, points, kind, description, hint, ...kind's keys}]`. pydantic validates
it; every error names the file, the key path, what was found and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import UsageError
from harness.model.platforms.actions import SINGLE_IMAGE_ACTIONS
from harness.model.platforms.compose_check import CHECK_ACTIONS

CHECK_ID = r"^[a-z0-9-]+$"
# `docker run` actions (a run.txt submission's), then compose's own (a compose.yaml one's); the
# names both have (restart, kill-start) apply to either.
LAB_ACTIONS = tuple(dict.fromkeys([*SINGLE_IMAGE_ACTIONS, *CHECK_ACTIONS]))


class BadLab(UsageError):
    """The lab spec is not valid; the message lists every problem."""


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CHECK_ID)
    points: float = Field(gt=0)
    description: str = ""
    hint: str = ""


class SurvivalCheck(_Check):
    """`persists` / `loses`: every listed action must give the required outcome."""

    kind: Literal["persists", "loses"]
    # A plain list validated below (its message names the allowed actions); the schema lists them.
    actions: list[str] = Field(
        min_length=1, json_schema_extra={"items": {"enum": list(LAB_ACTIONS)}}
    )

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, actions: list[str]) -> list[str]:
        # A submission is one image: the upgrade action, which needs two, has no meaning here.
        unknown = [a for a in actions if a not in LAB_ACTIONS]
        if unknown:
            allowed = ", ".join(LAB_ACTIONS)
            raise ValueError(f"unknown action(s) {unknown}; allowed: {allowed}")
        return actions


class DeclaresVolumeCheck(_Check):
    kind: Literal["declares-volume"]
    path: str = Field(pattern=r"^/")
    # Extends the contract: true when the Dockerfile's own VOLUME must cover `path` (the official
    # mysql and postgres images already declare their data directories, so every child would pass).
    own: bool = False


class MaxLayersCheck(_Check):
    kind: Literal["max-layers"]
    max: int = Field(ge=0)


class BuildsCheck(_Check):
    kind: Literal["builds"]


class AnswerCheck(_Check):
    kind: Literal["answer"]
    key: str = Field(min_length=1)
    expected: str | int | float


Check = Annotated[
    SurvivalCheck | DeclaresVolumeCheck | MaxLayersCheck | BuildsCheck | AnswerCheck,
    Field(discriminator="kind"),
]


class Lab(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    checks: list[Check] = Field(min_length=1)

    @field_validator("checks")
    @classmethod
    def _unique_ids(cls, checks: list[Any]) -> list[Any]:
        ids = [check.id for check in checks]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"check ids must be unique; repeated: {', '.join(repeated)}")
        return checks

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)


def lab_file(path: Path) -> Path:
    """LAB is a folder holding lab.yaml, or the file itself."""
    return path / "lab.yaml" if path.is_dir() else path


def load_lab(path: Path) -> Lab:
    """The validated lab; BadLab (one line per problem) otherwise."""
    file = lab_file(path)
    try:
        data = yaml.safe_load(file.read_text())
    except OSError as error:
        raise BadLab(f"{file}: cannot be read ({error.strerror}); pass the lab folder.") from None
    except yaml.YAMLError as error:
        # Named like the schema's errors (`lab.yaml: ...`), with the parser's own problem: a
        # control character is not an indentation mistake.
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise BadLab(
            f"{file.name}:{where} not valid YAML ({problem}); check the indentation and quoting."
        ) from None
    try:
        return Lab.model_validate(data)
    except ValidationError as error:
        problems = [_describe(file, problem) for problem in error.errors()]
        raise BadLab("\n".join(problems)) from None


def _describe(file: Path, problem: Any) -> str:
    """`lab.yaml: checks[1].points: found 0; Input should be greater than 0`."""
    parts: list[str] = []
    for item in problem["loc"]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item not in KINDS:  # pydantic adds the union member's tag to the path
            # A key with a line break or control character is shown quoted: one line per problem.
            key = str(item) if str(item).isprintable() else repr(item)
            parts.append(f".{key}" if parts else key)
    found = problem.get("input")
    if problem["type"] == "union_tag_invalid" and isinstance(found, dict):
        parts.append(".kind")
        found = found.get("kind")
    shown = "nothing" if problem["type"] == "missing" else repr(found)
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{file.name}: {''.join(parts) or '(top level)'}: found {shown}; {message}."


KINDS: frozenset[str] = frozenset(
    kind
    for model in (SurvivalCheck, DeclaresVolumeCheck, MaxLayersCheck, BuildsCheck, AnswerCheck)
    for kind in get_args(model.model_fields["kind"].annotation)
)
