"""What can happen to the rows, and what an engine promises will happen.

Promises that differ between engines are keyed by engine kind and version range
(`ENGINE_RANGES`). An engine in no known range is judged by the nearest range's promises, and
every one of its promises is marked unverified.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from harness.model.engine_info import EngineInfo, version_tuple


class Outcome(StrEnum):
    SURVIVES = "survives"
    LOST = "lost"
    # The engine refuses to create the container as configured: there are no rows to judge,
    # and that is the engine's documented or observed answer, not a harness failure.
    REJECTED = "rejected"
    # The new server will not start on the data it was given (a newer major version on an older
    # data directory); the data is still on disk, and the old version still reads it.
    REFUSED = "refused"


@dataclass(frozen=True)
class Promise:
    """The engine's answer for one cell, with the sentence a student needs."""

    outcome: Outcome
    reason: str
    # False when the engine is in no known range: the promise is the nearest range's.
    verified: bool = True

    def resolve(self, engine_range: EngineRange) -> Promise:
        return self


@dataclass(frozen=True)
class EngineRange:
    """Engines of one kind from `since` (inclusive) to `until` (exclusive, None: open)."""

    kind: str  # "docker" or "podman", as `EngineInfo.name`
    since: tuple[int, ...]
    until: tuple[int, ...] | None
    label: str

    def contains(self, engine: EngineInfo) -> bool:
        version = version_tuple(engine.version)
        return (
            engine.name == self.kind
            and version >= self.since
            and (self.until is None or version < self.until)
        )

    def distance(self, engine: EngineInfo) -> int:
        """How far an engine of this kind is from the range, in major versions (a tie goes to
        the range listed first, the one measured longest)."""
        major = (version_tuple(engine.version) or (0,))[0]
        first = self.since[0] if self.since else 0
        last = self.until[0] - 1 if self.until else major
        return first - major if major < first else max(0, major - last)


DOCKER_BEFORE_23 = EngineRange("docker", (), (23,), "Docker < 23")
DOCKER_SINCE_23 = EngineRange("docker", (23,), None, "Docker >= 23")
PODMAN_4 = EngineRange("podman", (4,), (5,), "Podman 4.x")
PODMAN_SINCE_6 = EngineRange("podman", (6,), None, "Podman >= 6")
ENGINE_RANGES = (DOCKER_BEFORE_23, DOCKER_SINCE_23, PODMAN_4, PODMAN_SINCE_6)


@dataclass(frozen=True)
class EngineMatch:
    """The range an engine's promises come from, and whether it really lies in it."""

    range: EngineRange
    verified: bool


def match_engine(engine: EngineInfo) -> EngineMatch:
    for engine_range in ENGINE_RANGES:
        if engine_range.contains(engine):
            return EngineMatch(engine_range, verified=True)
    same_kind = [r for r in ENGINE_RANGES if r.kind == engine.name]
    # Another kind speaks Docker's API: judged as today's Docker.
    nearest = min(same_kind, key=lambda r: r.distance(engine)) if same_kind else DOCKER_SINCE_23
    return EngineMatch(nearest, verified=False)


@dataclass(frozen=True)
class ByEngine:
    """A promise that differs between engine ranges: one promise per range, every range."""

    promises: tuple[tuple[EngineRange, Promise], ...]

    def __post_init__(self) -> None:
        missing = [r.label for r in ENGINE_RANGES if r not in dict(self.promises)]
        if missing:
            raise ValueError(f"no promise for {', '.join(missing)}")

    def resolve(self, engine_range: EngineRange) -> Promise:
        return dict(self.promises)[engine_range]


PromiseRule = Promise | ByEngine


def promise_for(rule: PromiseRule, engine: EngineInfo) -> Promise:
    """The rule's promise on `engine`, marked unverified when the engine is in no known range."""
    match = match_engine(engine)
    promise = rule.resolve(match.range)
    if match.verified:
        return promise
    return replace(
        promise,
        verified=False,
        reason=f"{promise.reason} (unverified: {engine.name} {engine.version} is in no known "
        f"range; judged as {match.range.label})",
    )
