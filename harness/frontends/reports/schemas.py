"""The published contracts as models: the JSON report, lab.yaml and the grading JSON.

`python -m harness schema report|lab|grades|compose-check` prints the JSON Schema generated from
these models
(committed under docs/schemas/, which a test keeps equal to the command's output). The models
list every key the harness writes, with `extra="forbid"`: a key added to a report without being
added here fails the tests that validate the suite's reports.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from harness.grading.lab import Lab
from harness.grading.results import Status
from harness.model.cells import COMPOSE_MATRIX, MATRICES, SWARM_MATRIX
from harness.model.outcomes import Outcome
from harness.model.servers.databases import DATABASES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SHARD = (
    "only in a shard's report (--shard K/N): what `merge` checks and needs; a merged report, "
    "like an unsplit run's, has none"
)

Database = StrEnum("Database", {name: name for name in DATABASES})  # type: ignore[misc]
# Every platform's storage modes and actions, the `docker run` matrix's first.
_STORAGES = dict.fromkeys(name for axes in MATRICES.values() for name in axes.storages)
_ACTIONS = dict.fromkeys(name for axes in MATRICES.values() for name in axes.actions)
Storage = StrEnum("Storage", {name: name for name in _STORAGES})  # type: ignore[misc]
Action = StrEnum("Action", {name: name for name in _ACTIONS})  # type: ignore[misc]
# What compose-check runs: a compose file's storage, through compose's or the swarm's actions.
_CHECK_ACTIONS = dict.fromkeys([*MATRICES[COMPOSE_MATRIX].actions, *MATRICES[SWARM_MATRIX].actions])
CheckStorage = StrEnum(  # type: ignore[misc]
    "CheckStorage", {name: name for name in MATRICES[COMPOSE_MATRIX].storages}
)
CheckAction = StrEnum("CheckAction", {name: name for name in _CHECK_ACTIONS})  # type: ignore[misc]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EngineEntry(_Strict):
    """The engine that ran the cells, as its `/version` answer names it."""

    name: str = Field(description="docker or podman")
    version: str
    api_version: str
    as_: str | None = Field(
        None, alias="as", description="in a run over several engines: the --engine name"
    )


class Upgrade(_Strict):
    from_: str = Field(alias="from", description="the image that wrote the rows")
    to: str = Field(description="the next major version's image that read them")


class Nodes(_Strict):
    written: str = Field(description="the swarm node the rows were written on")
    read: str = Field(description="the node the new task read them on")


class Result(_Strict):
    """One matrix cell: what the promise table expects and what happened to the rows."""

    id: str = Field(
        description="<database>-<storage>-<action>; compose-<database>-<storage>-<action>; "
        "swarm-<database>-<storage>-<action>"
    )
    database: Database
    storage: Storage
    action: Action
    matrix: Literal["compose", "swarm"] | None = Field(
        None,
        description="compose: a compose matrix cell; swarm: a swarm matrix cell (absent: the "
        "docker run matrix)",
    )
    expected: Outcome
    observed: Outcome | None = Field(description="null: no verdict (see error)")
    rows_written: int = Field(ge=0)
    rows_read: int = Field(ge=0)
    passed: bool
    seconds: float = Field(ge=0)
    detail: str | None = Field(None, description="how a loss or a refusal showed itself")
    error: str | None = Field(None, description="why there is no verdict")
    verified: bool | None = Field(None, description="false: the engine is in no known range")
    upgrade: Upgrade | None = None
    nodes: Nodes | None = Field(None, description="a swarm cell's nodes")


class Totals(_Strict):
    """What the writers attempted and how each write came out (a campaign's or a round's)."""

    attempted: int = Field(ge=0)
    acknowledged: int = Field(ge=0)
    failed: int = Field(ge=0)
    indeterminate: int = Field(ge=0)
    resolved: int = Field(ge=0)
    resolved_committed: int = Field(ge=0)
    lost: int = Field(ge=0)
    unexpected: int = Field(ge=0)


class RoundEntry(Totals):
    """One crash round of a durability campaign: its counts, and the ids behind lost and
    unexpected."""

    round: int = Field(ge=1)
    restart: Literal["start", "recreate"]
    indeterminate_present: int = Field(ge=0)
    lost_ids: list[int]
    unexpected_ids: list[int]


class CampaignEntry(_Strict):
    """A crash campaign: writers, SIGKILLs, every acknowledged write judged after each."""

    id: str
    database: Database
    storage: Storage
    setting: str
    safe: bool
    must_show: str
    seed: int
    writers: int = Field(ge=1)
    writes_per_round: int = Field(ge=1)
    passed: bool
    error: str | None = Field(description="why the campaign has no verdict")
    seconds: float = Field(ge=0)
    totals: Totals
    rounds: list[RoundEntry]
    evidence: list[str]


class EngineReport(_Strict):
    """The report of a run on one engine."""

    engine: EngineEntry
    images: dict[str, str] = Field(description="the image each database ran")
    results: list[Result]
    durability: list[CampaignEntry] | None = Field(
        None, description="crash campaigns, when any ran"
    )
    shard: dict[str, Any] | None = Field(None, description=SHARD)


class EngineOutcome(_Strict):
    engine: str
    outcome: str
    reason: str


class Difference(_Strict):
    """A cell whose outcome differs between engines."""

    id: str
    engines: list[EngineOutcome]


class EnginesReport(_Strict):
    """The report of a run over several engines (`--engine` more than once)."""

    engines: list[EngineReport]
    differences: list[Difference]
    durability: list[CampaignEntry] | None = None
    shard: dict[str, Any] | None = Field(None, description=SHARD)


class Report(RootModel[EngineReport | EnginesReport]):
    """`pytest --harness-report PATH` and `python -m harness run --json PATH`."""


class CheckEntry(_Strict):
    id: str
    points: float = Field(ge=0)
    max_points: float = Field(ge=0)
    status: Status
    message: str


class SubmissionEntry(_Strict):
    student: str
    score: float = Field(ge=0)
    max_score: float = Field(ge=0)
    checks: list[CheckEntry]


class Grades(_Strict):
    """`python -m harness grade ... --json PATH`."""

    lab: str = Field(description="the lab's title")
    max_score: float = Field(ge=0)
    submissions: list[SubmissionEntry]
    shard: dict[str, Any] | None = Field(None, description=SHARD)


class ComposeCheckResult(_Strict):
    """One service of the file through one action, on a private copy of it."""

    id: str = Field(description="<service>-<action>")
    service: str
    database: Database
    image: str = Field(description="the image the file names")
    stand_in: str | None = Field(
        description="the local image that ran in the image's place (null: the image itself)"
    )
    storage: CheckStorage = Field(description="what holds the data, as the file declares it")
    action: CheckAction
    expected: Outcome
    observed: Outcome | None = Field(description="null: no verdict (`error` says why)")
    passed: bool
    reason: str = Field(description="why the expected outcome is promised")
    detail: str | None = Field(None, description="how a loss or a refusal showed itself")
    other_major: str | None = Field(
        None,
        description="when the stand-in runs another major version than the image names: its "
        "storage verdicts stand, a refusal to start is not judged across it",
    )
    nodes: Nodes | None = Field(None, description="on a swarm: where the rows were written, read")
    error: str | None = Field(None, description="why there is no verdict")
    advice: str | None = Field(None, description="the change to the file that keeps the rows")


class ComposeCheck(_Strict):
    """`python -m harness compose-check FILE --json PATH`."""

    compose_file: str
    on: Literal["swarm"] | None = Field(None, description="swarm: run as a stack on the swarm")
    engine: EngineEntry
    compose_version: str
    results: list[ComposeCheckResult]
    shard: dict[str, Any] | None = Field(None, description=SHARD)


SCHEMAS: dict[str, type[BaseModel]] = {
    "report": Report,
    "lab": Lab,
    "grades": Grades,
    "compose-check": ComposeCheck,
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a contract, generated from its model."""
    model = SCHEMAS[name]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DIALECT, "$id": f"{name}.schema.json", **schema}


def schema_text(name: str) -> str:
    """The schema as the command prints it and docs/schemas/ holds it."""
    return json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"
