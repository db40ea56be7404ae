"""The swarm matrix's vocabulary: storage as a swarm service mounts it, actions as swarm commands,
and what the swarm promises for each, which depends on where the task ran.

A swarm never restarts a task's container: every action below ends the task and the scheduler
starts a new one, a new container, on whichever node the service's placement allows. So storage
that belongs to one container (its writable layer, the image's anonymous volume, a tmpfs) is
gone after each of them, and storage that belongs to a node (a local named volume, a directory
of the node) keeps the rows for a task that runs on that node again, and for no other. The
promise is therefore read off two facts, the storage and whether the rows were read on the node
they were written on; the harness pins the task where an action needs it to be deterministic
and otherwise looks where the task ran (a verdict never guesses a node).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.model.holders import Holder
from harness.model.outcomes import Outcome, Promise

S, L = Outcome.SURVIVES, Outcome.LOST


class TaskPlacement(Enum):
    """Where the new task runs, as the harness arranges it."""

    SAME_NODE = "pinned to the node that holds the rows"
    OTHER_NODE = "pinned to another node"
    WHERE_IT_LANDS = "wherever the scheduler puts it (the node is read, not guessed)"


@dataclass(frozen=True)
class SwarmAction:
    name: str
    command: str  # as a person would type it
    summary: str  # for reasons: "a forced update"
    placement: TaskPlacement
    # The action changes a node, not only the cell's service (a drain, an engine stopped), so
    # no other cell may run beside it.
    whole_node: bool = False


SWARM_ACTIONS: dict[str, SwarmAction] = {
    a.name: a
    for a in (
        SwarmAction("update-force", "docker service update --force", "a forced update",
                    TaskPlacement.SAME_NODE),
        SwarmAction("kill-task", "docker kill <the task's container>", "a killed task",
                    TaskPlacement.SAME_NODE),
        SwarmAction("move-node", "docker service update --constraint-rm/--constraint-add",
                    "a move to another node", TaskPlacement.OTHER_NODE),
        SwarmAction("drain-node", "docker node update --availability drain <the task's node>",
                    "a drain of the task's node", TaskPlacement.WHERE_IT_LANDS, whole_node=True),
        SwarmAction("scale-zero", "docker service scale =0, then =1", "a scale to zero and back",
                    TaskPlacement.SAME_NODE),
        SwarmAction("stack-redeploy", "docker stack rm; docker stack deploy", "a stack redeploy",
                    TaskPlacement.SAME_NODE),
        SwarmAction("node-down", "the task's node's engine stopped", "its node going down",
                    TaskPlacement.WHERE_IT_LANDS, whole_node=True),
    )
}  # fmt: skip
SWARM_ACTION_NAMES: tuple[str, ...] = tuple(SWARM_ACTIONS)


@dataclass(frozen=True)
class SwarmStorage:
    name: str
    description: str  # as typed on `docker service create`
    holder: Holder
    # The rows outlive the task on its node (a local volume, a directory of the node).
    on_node: bool
    # Why a new task's container does not have them, for storage that is the container's own.
    gone_because: str = ""
    in_layer: bool = False  # the data directory moves off the image's declared volume


SWARM_STORAGE: dict[str, SwarmStorage] = {
    s.name: s
    for s in (
        SwarmStorage("layer", "no mount (the data directory moved into the writable layer)",
                     Holder.LAYER, on_node=False,
                     gone_because="the writable layer belongs to the old task's container",
                     in_layer=True),
        SwarmStorage("anonymous", "no mount (the image's VOLUME)", Holder.IMAGE_VOLUME,
                     on_node=False,
                     gone_because="an anonymous volume belongs to the old task's container; "
                                  "the new one gets a new, empty one"),
        SwarmStorage("named", "--mount type=volume,source=NAME (local driver)", Holder.NAMED_VOLUME,
                     on_node=True),
        SwarmStorage("bind", "--mount type=bind,source=/path/on/the/node", Holder.BIND,
                     on_node=True),
        SwarmStorage("tmpfs", "--mount type=tmpfs", Holder.TMPFS, on_node=False,
                     gone_because="a tmpfs lives in the old task's container's memory"),
    )
}  # fmt: skip
SWARM_STORAGE_NAMES: tuple[str, ...] = tuple(SWARM_STORAGE)


def swarm_promise(storage_name: str, action_name: str, written_on: str, read_on: str) -> Promise:
    """What the swarm promises for the rows written on node `written_on` and read by a task on
    `read_on`, after the action."""
    storage, action = SWARM_STORAGE[storage_name], SWARM_ACTIONS[action_name]
    if not storage.on_node:
        return Promise(L, f"after {action.summary} a new task runs, in a new container: "
                          f"{storage.gone_because}.")  # fmt: skip
    kind = "local volume" if storage.holder is Holder.NAMED_VOLUME else "directory"
    if written_on == read_on:
        return Promise(S, f"the data is in a {kind} on {written_on}, and after {action.summary} "
                          f"the new task runs on {written_on} again.")  # fmt: skip
    return Promise(L, f"the data is in a {kind} on {written_on}; after {action.summary} the task "
                      f"runs on {read_on}, where that {kind} is empty.")  # fmt: skip


def planned_swarm_promise(storage_name: str, action_name: str) -> Promise:
    """A swarm cell's promise before its task has run: on the nodes the harness pins, or, for an
    action that lets the scheduler choose, "another node" (the task leaves the node that holds
    the rows). A cell that runs is judged on the nodes its tasks really ran on."""
    read_on = planned_read_node(action_name, "its node", "another node") or "another node"
    return swarm_promise(storage_name, action_name, "its node", read_on)


def planned_read_node(action_name: str, written_on: str, other: str) -> str | None:
    """The node the new task will run on when the harness pins it; None when it is read from
    where the scheduler put the task."""
    placement = SWARM_ACTIONS[action_name].placement
    if placement is TaskPlacement.SAME_NODE:
        return written_on
    if placement is TaskPlacement.OTHER_NODE:
        return other
    return None
