"""The lifecycle actions: each is a name and the engine steps it takes, nothing else.

What an action means for the data (its fate) is derived from its steps, and each storage mode
promises an outcome per fate, so the table of promises follows from these two registries.
Adding an action is one new `Action` in `ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Step(Enum):
    """One engine operation, as a person would type it."""

    RESTART = "docker restart"
    STOP = "docker stop"
    KILL = "docker kill"
    START = "docker start"
    REMOVE = "docker rm"
    REMOVE_WITH_VOLUMES = "docker rm -v"
    PRUNE_VOLUMES = "docker volume prune"
    RUN_NEW = "docker run"
    RUN_WITH_VOLUMES_FROM = "docker run --volumes-from old"
    RUN_NEXT_VERSION = "docker run <next major version>"


class Fate(Enum):
    """What happens to the container that holds the data, and so to its storage."""

    SAME_CONTAINER = "the same container runs again"
    REPLACED = "a new container replaces the removed one"
    REPLACED_AFTER_RM_V = "a new container replaces one removed with its anonymous volumes"
    REPLACED_AFTER_PRUNE = "a new container replaces the removed one after a volume prune"
    INHERITED = "a new container mounts the old one's volumes"


@dataclass(frozen=True)
class Action:
    name: str
    steps: tuple[Step, ...]
    # How the same container got through it, for reasons ("a restart").
    summary: str

    @property
    def command(self) -> str:
        return "; ".join(step.value for step in self.steps)

    @property
    def fate(self) -> Fate:
        steps = set(self.steps)
        if Step.RUN_WITH_VOLUMES_FROM in steps:
            return Fate.INHERITED
        if not steps & {Step.RUN_NEW, Step.RUN_NEXT_VERSION}:
            return Fate.SAME_CONTAINER
        if Step.PRUNE_VOLUMES in steps:
            return Fate.REPLACED_AFTER_PRUNE
        if Step.REMOVE_WITH_VOLUMES in steps:
            return Fate.REPLACED_AFTER_RM_V
        return Fate.REPLACED

    @property
    def recreates_storage(self) -> bool:
        """The next container is set up from the storage mode again (so placement is rechecked)."""
        return bool(set(self.steps) & {Step.RUN_NEW, Step.RUN_NEXT_VERSION})

    @property
    def upgrades(self) -> bool:
        """The next container runs the next major version of the server (a second image)."""
        return Step.RUN_NEXT_VERSION in self.steps


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("restart", (Step.RESTART,), "a restart"),
        Action("stop-start", (Step.STOP, Step.START), "a stop and start"),
        Action(
            "kill-start",
            (Step.KILL, Step.START),
            "a SIGKILL and start (crash recovery replays the committed log)",
        ),
        Action("recreate", (Step.STOP, Step.REMOVE, Step.RUN_NEW), "a recreate"),
        Action("recreate-rm-v", (Step.STOP, Step.REMOVE_WITH_VOLUMES, Step.RUN_NEW), "a recreate"),
        Action(
            "prune-recreate",
            (Step.STOP, Step.REMOVE, Step.PRUNE_VOLUMES, Step.RUN_NEW),
            "a recreate",
        ),
        # Two servers must never share a data directory: the old one stops first.
        Action("volumes-from", (Step.STOP, Step.RUN_WITH_VOLUMES_FROM), "--volumes-from"),
        # A recreate on the same storage with the next major version's image: what a version
        # bump in a compose file or a deployment does.
        Action("upgrade", (Step.STOP, Step.REMOVE, Step.RUN_NEXT_VERSION), "an upgrade"),
    )
}

# The actions a single image can perform (an upgrade needs two: see `upgrade-check`).
SINGLE_IMAGE_ACTIONS: tuple[str, ...] = tuple(a.name for a in ACTIONS.values() if not a.upgrades)

ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)
