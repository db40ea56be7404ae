"""`compose-check FILE --on swarm`'s reading of a user's compose file: the swarm's promise for the
storage the file declares, the change that keeps the rows, and the private stack the harness
deploys instead of the user's.

Pure, like `compose_check.py`, whose reading (which services are databases, what holds their
data) it shares: only the promise and the copy differ on a swarm. The promise comes from the
swarm matrix's table (`harness/model/platforms/swarm.py`), so a check and the matrix never differ.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model.holders import Holder
from harness.model.placement import covers
from harness.model.platforms.compose import COMPOSE_STORAGE
from harness.model.platforms.compose_check import DatabaseService, Expectation
from harness.model.platforms.swarm import SWARM_ACTIONS, SWARM_STORAGE, swarm_promise

# What a stack's task gets for what a compose file declares: an `external` volume, like a named
# one, is a local volume on whichever node the task runs (the swarm makes it there when it is
# missing); an anonymous volume the file declares is new for every task's container, as the
# image's is.
_ON_A_SWARM = {
    Holder.EXTERNAL_VOLUME: Holder.NAMED_VOLUME,
    Holder.ANONYMOUS_VOLUME: Holder.IMAGE_VOLUME,
}
# Each compose storage as the swarm treats it: the swarm storage of the same holder there.
SWARM_STORAGE_OF = {
    name: next(
        swarm for swarm, kept in SWARM_STORAGE.items()
        if kept.holder is _ON_A_SWARM.get(storage.holder, storage.holder)
    )
    for name, storage in COMPOSE_STORAGE.items()
}  # fmt: skip
# The day-to-day operations of a swarm service, which must not lose a database's rows; a move,
# a drain and a node going down lose node-local data by design (each has its advice).
DEFAULT_MUST_SURVIVE_ON_SWARM = ("update-force", "kill-task", "scale-zero", "stack-redeploy")

# The keys of a service that a stack file (the docker CLI's compose format 3.8) accepts and the
# private stack keeps as the user wrote them; the harness sets image, command, environment,
# secrets, volumes, networks, labels and deploy itself, and leaves out the rest with a note.
_KEPT_KEYS = ("entrypoint", "user", "working_dir", "stop_grace_period", "stop_signal",
              "ulimits", "sysctls", "cap_add", "cap_drop", "init", "read_only", "hostname",
              "tmpfs")  # fmt: skip
_HARNESS_KEYS = frozenset({"image", "command", "environment", "secrets", "volumes", "networks",
                           "labels", "deploy", "healthcheck"})  # fmt: skip
_HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
# What a stack file's long-form volume entry may hold (compose's normalised form adds more).
_MOUNT_KEYS = ("type", "source", "target", "read_only", "tmpfs")


def swarm_storage(service: DatabaseService) -> str:
    """The swarm matrix's storage for what holds the service's data."""
    return SWARM_STORAGE_OF[service.holder.storage]


def swarm_expectation(
    service: DatabaseService, action: str, written_on: str, read_on: str
) -> Expectation:
    """What the swarm promises for the service's rows written on `written_on` and read by a task
    on `read_on` after `action`, and why."""
    promise = swarm_promise(swarm_storage(service), action, written_on, read_on)
    return Expectation(promise.outcome, promise.reason, service)


def swarm_advice(service: DatabaseService, action: str) -> str:
    """The change to the file that keeps the rows through `action` on a swarm."""
    directory, name = service.data_dir, service.name
    if SWARM_STORAGE[swarm_storage(service)].on_node:
        return (f"{service.holder.where} lives on one node, so pin {name} to that node "
                "(`deploy: placement: constraints: [node.hostname == NODE]`): after "
                f"{SWARM_ACTIONS[action].summary} the task then waits for that node instead of "
                f"starting empty on another; or keep {directory} on storage every node reaches "
                "(a volume driver for shared storage)")  # fmt: skip
    volume = f"{name}-data"
    return (
        f"keep {directory} in a named volume (`- {volume}:{directory}` under {name}'s "
        f"`volumes:`, `{volume}:` under the top-level `volumes:`) and pin {name} to the "
        "node that holds it (`deploy: placement: constraints: [node.hostname == NODE]`)"
    )


@dataclass(frozen=True)
class StackPlan:
    """What the harness puts in place of the user's things in the private stack."""

    labels: Mapping[str, str]
    data_dir: str
    data_bind: str  # a directory on every node standing in for a bind that holds the data
    volume_prefix: str  # a fixed name for an `external` volume (or one with `name:`): prefix+key


@dataclass(frozen=True)
class StackService:
    """The user's service as the private stack keeps it: the keys the harness does not set, its
    volume entries, the top-level volumes they name, and what was left out, in sentences."""

    service: dict[str, Any]
    volumes: list[dict[str, Any]]
    top_volumes: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def stack_service(
    model: Mapping[str, Any], raw: Mapping[str, Any], service_name: str, plan: StackPlan
) -> StackService:
    """The user's service for a stack that touches nothing of theirs: no published port, no
    bind of a user's path, volumes labelled with the run's labels and named by the stack (or by
    the harness, for a fixed name)."""
    # Compose's normalised form writes `null` for what the file leaves out (`entrypoint`,
    # `command`); a stack file refuses those.
    declared = {k: v for k, v in model["services"][service_name].items() if v is not None}
    notes: list[str] = []
    kept = {key: copy.deepcopy(declared[key]) for key in _KEPT_KEYS if key in declared}
    if isinstance(declared.get("healthcheck"), dict):
        check = declared["healthcheck"]
        kept["healthcheck"] = {k: check[k] for k in _HEALTHCHECK_KEYS if k in check}
    left_out = sorted(set(declared) - set(kept) - _HARNESS_KEYS - {"ports", "pull_policy"})
    if left_out:
        keys = ", ".join(f"`{k}`" for k in left_out)
        notes.append(f"{service_name}'s {keys} left out on the swarm: the stack runs the "
                     "database service alone, placed and networked by the harness.")  # fmt: skip
    if (declared.get("deploy") or {}).get("placement"):
        notes.append(f"{service_name}'s placement is replaced: the harness pins the task where "
                     "each action needs it.")  # fmt: skip
    volumes, top = _stack_volumes(model, raw, declared.get("volumes") or [], plan, notes)
    return StackService(kept, volumes, top, notes)


def _stack_volumes(
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    mounts: list[dict[str, Any]],
    plan: StackPlan,
    notes: list[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    declared_volumes: Mapping[str, Any] = model.get("volumes") or {}
    raw_volumes: Mapping[str, Any] = raw.get("volumes") or {}
    kept: list[dict[str, Any]] = []
    top: dict[str, Any] = {}
    for mount in mounts:
        entry = {k: mount[k] for k in _MOUNT_KEYS if k in mount}
        if mount.get("type") == "bind":
            if not covers(str(mount.get("target")), plan.data_dir):
                notes.append(f"The bind of {mount.get('source')} is left out on the swarm: it "
                             "is a path of this machine, not of the nodes.")  # fmt: skip
                continue
            entry["source"] = plan.data_bind
        elif mount.get("type") == "volume" and mount.get("source"):
            key = str(mount["source"])
            declared = declared_volumes.get(key) or {}
            top[key] = {"labels": {**(declared.get("labels") or {}), **plan.labels}}
            # (Compose's normalised form names every volume; the user's own `name:` is read
            # from the raw file, as compose-check does on one engine.)
            raw_declared = raw_volumes.get(key)
            fixed = isinstance(raw_declared, dict) and bool(raw_declared.get("name"))
            if declared.get("external") or fixed:
                # A fixed name the stack does not prefix, as the user's is; the harness's own,
                # and labelled (a user's external volume is never used).
                top[key]["name"] = f"{plan.volume_prefix}{key}"
        kept.append(entry)
    return kept, top
