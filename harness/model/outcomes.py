"""What can happen to the rows, and what an engine promises will happen."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.model.engine_info import EngineInfo


class Outcome(StrEnum):
    SURVIVES = "survives"
    LOST = "lost"


@dataclass(frozen=True)
class Promise:
    """The engine's answer for one cell, with the sentence a student needs."""

    outcome: Outcome
    reason: str

    def resolve(self, engine: EngineInfo) -> Promise:
        return self


@dataclass(frozen=True)
class ChangedWithApi:
    """A promise that changed with an engine release (decided by the engine's API version)."""

    api_version: str
    since: Promise
    before: Promise

    def resolve(self, engine: EngineInfo) -> Promise:
        return self.since if engine.api_at_least(self.api_version) else self.before


PromiseRule = Promise | ChangedWithApi
