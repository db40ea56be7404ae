"""What the engine promises: for each storage mode and lifecycle action, survives or lost, and why.

The table is data (DESIGN.md section 3, observed on Engine 20.10.24). The one engine-dependent
cell, `named` x `prune-recreate`, resolves against the engine's API version.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.engine import EngineInfo
from harness.persons import Outcome

S, L = Outcome.SURVIVES, Outcome.LOST

STORAGE_NAMES = ("layer", "anonymous", "named", "bind", "tmpfs")
ACTION_NAMES = (
    "restart",
    "stop-start",
    "kill-start",
    "recreate",
    "recreate-rm-v",
    "prune-recreate",
    "volumes-from",
)


@dataclass(frozen=True)
class Expectation:
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class FromApi:
    """A cell whose answer changed with an engine release."""

    api_version: str
    since: Expectation
    before: Expectation

    def resolve(self, engine: EngineInfo) -> Expectation:
        return self.since if engine.api_at_least(self.api_version) else self.before


Cell = Expectation | FromApi

_SAME_CONTAINER = "the same container keeps its writable layer and its mounts across {}"
_RESTARTS = {
    "restart": "a restart",
    "stop-start": "a stop and start",
    "kill-start": "a SIGKILL and start (crash recovery replays the committed log)",
}


def _kept_by_same_container(action: str) -> Expectation:
    return Expectation(S, _SAME_CONTAINER.format(_RESTARTS[action]) + ".")


def _row(cells: dict[str, Cell]) -> dict[str, Cell]:
    restarts: dict[str, Cell] = {action: _kept_by_same_container(action) for action in _RESTARTS}
    return restarts | cells


_LAYER_GONE = Expectation(L, "the writable layer is deleted with the container.")
_TMPFS: Cell = Expectation(
    L, "tmpfs lives in memory and is emptied whenever the container's processes stop."
)

TABLE: dict[str, dict[str, Cell]] = {
    "layer": _row(
        {
            "recreate": _LAYER_GONE,
            "recreate-rm-v": _LAYER_GONE,
            "prune-recreate": _LAYER_GONE,
            "volumes-from": Expectation(
                L, "--volumes-from shares volumes, not the writable layer the data was in."
            ),
        }
    ),
    "anonymous": _row(
        {
            "recreate": Expectation(
                L,
                "the new container gets a new anonymous volume; the old one still holds the "
                "data on disk but no container sees it (dangling).",
            ),
            "recreate-rm-v": Expectation(
                L, "`docker rm -v` removes the container's anonymous volumes with it."
            ),
            "prune-recreate": Expectation(
                L, "the new container gets a new anonymous volume, and prune removes the old one."
            ),
            "volumes-from": Expectation(
                S, "--volumes-from mounts the old container's anonymous volume in the new one."
            ),
        }
    ),
    "named": _row(
        {
            "recreate": Expectation(
                S, "a named volume outlives its container and is mounted again."
            ),
            "recreate-rm-v": Expectation(
                S, "`docker rm -v` removes anonymous volumes only, never named ones."
            ),
            "prune-recreate": FromApi(
                "1.42",
                since=Expectation(
                    S, "since Engine 23 (API 1.42) prune keeps named volumes unless --all."
                ),
                before=Expectation(
                    L, "before Engine 23 (API 1.42) prune removed unused named volumes too."
                ),
            ),
            "volumes-from": Expectation(
                S, "--volumes-from mounts the old container's named volume in the new one."
            ),
        }
    ),
    "bind": _row(
        {
            "recreate": Expectation(S, "the data is in a host directory that no container owns."),
            "recreate-rm-v": Expectation(S, "`docker rm -v` never touches host directories."),
            "prune-recreate": Expectation(S, "volume prune never touches host directories."),
            "volumes-from": Expectation(
                S, "--volumes-from repeats the old container's bind mounts in the new one."
            ),
        }
    ),
    "tmpfs": dict.fromkeys(ACTION_NAMES, _TMPFS)
    | {
        "volumes-from": Expectation(
            L, "tmpfs is memory of one container and is not inherited by the new one."
        )
    },
}


def expect(storage: str, action: str, engine: EngineInfo) -> Expectation:
    """The engine's promise for one cell."""
    cell = TABLE[storage][action]
    return cell.resolve(engine) if isinstance(cell, FromApi) else cell
