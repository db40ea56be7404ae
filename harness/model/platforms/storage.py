"""The storage modes: each owns its name, how it mounts the data directory, and its promises.

A promise is given per fate of the container (same container, replaced, replaced after `rm -v`
or a prune, inherited with --volumes-from); an action's fate follows from its steps, so the
table of promises is derived, never kept in step by hand. Adding a mode is one new
`StorageMode` in `STORAGE_MODES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from harness.model.engine_info import EngineInfo
from harness.model.holders import Holder, ObservedMount, misplaced
from harness.model.outcomes import (
    DOCKER_BEFORE_23,
    DOCKER_SINCE_23,
    PODMAN_4,
    PODMAN_SINCE_6,
    ByEngine,
    Outcome,
    Promise,
    PromiseRule,
    promise_for,
)
from harness.model.platforms.actions import ACTIONS, Action, Fate
from harness.model.servers.versions import upgrade_promise
from harness.model.spec import ContainerSpec, Mount, MountKind

S, L, R = Outcome.SURVIVES, Outcome.LOST, Outcome.REJECTED


class Resource(Enum):
    """What the engine side must provide before a container of the mode can be created."""

    NONE = "none"
    VOLUME = "a named volume"
    DIRECTORY = "a host directory"


# `{action}` is replaced by the action's summary ("a restart").
_KEPT_BY_SAME_CONTAINER = Promise(
    S, "the same container keeps its writable layer and its mounts across {action}."
)


@dataclass(frozen=True)
class StorageMode:
    name: str
    description: str  # as typed on `docker run`
    resource: Resource
    promises: Mapping[Fate, PromiseRule]
    # What must hold the data directory; None: whatever the configuration gives (grading's
    # as-given mode, which checks no placement).
    holder: Holder | None
    in_layer: bool = False  # the data directory must be moved off every declared volume

    @property
    def starts_from_image(self) -> bool:
        """A new container's data directory starts as the image's content (its holder says)."""
        return self.holder is not None and self.holder.starts_from_image

    @property
    def mount_kind(self) -> MountKind | None:
        """The kind of mount the data directory must be on; None: none at all."""
        return self.holder.mount_kind if self.holder else None

    def promise(self, action: Action, engine: EngineInfo) -> Promise:
        promise = promise_for(self.promises[action.fate], engine)
        return replace(promise, reason=promise.reason.format(action=action.summary))

    def configure(self, spec: ContainerSpec, target: str, resource: str | None) -> ContainerSpec:
        """The container's configuration with this mode's mount of `target` added."""
        if self.resource is Resource.VOLUME:
            return spec.with_mount(Mount(MountKind.VOLUME, _required(resource, self), target))
        if self.resource is Resource.DIRECTORY:
            return spec.with_mount(Mount(MountKind.BIND, _required(resource, self), target))
        if self.mount_kind is MountKind.TMPFS:
            # `--tmpfs`, as people type it. (`--mount type=tmpfs` differs: Engine 20.10 then
            # refuses `--volumes-from` that container with "get: no such volume".)
            return spec.with_tmpfs(target)
        return spec

    def placement_problem(self, mount: ObservedMount | None, resource: str | None) -> str | None:
        """Why the mount holding the data directory is not this mode's (None when it is): the
        one rule of every platform (`misplaced`), said in the words of a `docker run` line."""
        volume = resource if self.resource is Resource.VOLUME else None
        if misplaced(self.holder or Holder.LAYER, mount, volume) is None:
            return None
        expected_kind = self.mount_kind
        if expected_kind is None and mount is not None:
            return f"the data directory is on a {mount.kind} mount, not in the writable layer"
        if mount is None:
            if self.resource is Resource.NONE and expected_kind is MountKind.VOLUME:
                return (
                    "no volume covers the data directory: the image declares no VOLUME over it, "
                    "so it is in the writable layer"
                )
            return f"the data directory is not on a {expected_kind} mount"
        if mount.kind != expected_kind:
            return f"the data directory is on a {mount.kind} mount, not a {expected_kind}"
        return f"the data directory is not on the named volume {resource}"  # the one left


def _required(resource: str | None, mode: StorageMode) -> str:
    if not resource:
        raise ValueError(f"the {mode.name} storage mode needs {mode.resource.value}")
    return resource


_BIND_INHERITED = Promise(
    S, "--volumes-from repeats the old container's bind mounts in the new one."
)
_LAYER_GONE = Promise(L, "the writable layer is deleted with the container.")
_TMPFS_EMPTIED = Promise(
    L, "tmpfs lives in memory and is emptied whenever the container's processes stop."
)

STORAGE_MODES: dict[str, StorageMode] = {
    mode.name: mode
    for mode in (
        StorageMode(
            "layer",
            "no volume over the data directory (moved off the image's VOLUME)",
            Resource.NONE,
            {
                Fate.SAME_CONTAINER: _KEPT_BY_SAME_CONTAINER,
                Fate.REPLACED: _LAYER_GONE,
                Fate.REPLACED_AFTER_RM_V: _LAYER_GONE,
                Fate.REPLACED_AFTER_PRUNE: _LAYER_GONE,
                Fate.INHERITED: Promise(
                    L, "--volumes-from shares volumes, not the writable layer the data was in."
                ),
            },
            holder=Holder.LAYER,
            in_layer=True,
        ),
        StorageMode(
            "anonymous",
            "the image's VOLUME, no -v",
            Resource.NONE,
            {
                Fate.SAME_CONTAINER: _KEPT_BY_SAME_CONTAINER,
                Fate.REPLACED: Promise(
                    L,
                    "the new container gets a new anonymous volume; the old one still holds the "
                    "data on disk but no container sees it (dangling).",
                ),
                Fate.REPLACED_AFTER_RM_V: Promise(
                    L, "`docker rm -v` removes the container's anonymous volumes with it."
                ),
                Fate.REPLACED_AFTER_PRUNE: Promise(
                    L,
                    "the new container gets a new anonymous volume, and prune removes the old one.",
                ),
                Fate.INHERITED: Promise(
                    S, "--volumes-from mounts the old container's anonymous volume in the new one."
                ),
            },
            holder=Holder.IMAGE_VOLUME,
        ),
        StorageMode(
            "named",
            "-v name:/data",
            Resource.VOLUME,
            {
                Fate.SAME_CONTAINER: _KEPT_BY_SAME_CONTAINER,
                Fate.REPLACED: Promise(
                    S, "a named volume outlives its container and is mounted again."
                ),
                Fate.REPLACED_AFTER_RM_V: Promise(
                    S, "`docker rm -v` removes anonymous volumes only, never named ones."
                ),
                Fate.REPLACED_AFTER_PRUNE: ByEngine(
                    (
                        (
                            DOCKER_BEFORE_23,
                            Promise(L, "before Engine 23 prune removed unused named volumes too."),
                        ),
                        (
                            DOCKER_SINCE_23,
                            Promise(S, "since Engine 23 prune keeps named volumes unless --all."),
                        ),
                        (
                            PODMAN_4,
                            Promise(
                                L,
                                "Podman 4 prunes unused named volumes too, whatever API version "
                                "it is called through.",
                            ),
                        ),
                        (
                            PODMAN_SINCE_6,
                            Promise(
                                S,
                                "since Podman 6.0 prune keeps named volumes unless --all, as "
                                "Docker 23 does.",
                            ),
                        ),
                    )
                ),
                Fate.INHERITED: Promise(
                    S, "--volumes-from mounts the old container's named volume in the new one."
                ),
            },
            holder=Holder.NAMED_VOLUME,
        ),
        StorageMode(
            "bind",
            "-v /host/dir:/data",
            Resource.DIRECTORY,
            {
                Fate.SAME_CONTAINER: _KEPT_BY_SAME_CONTAINER,
                Fate.REPLACED: Promise(
                    S, "the data is in a host directory that no container owns."
                ),
                Fate.REPLACED_AFTER_RM_V: Promise(
                    S, "`docker rm -v` never touches host directories."
                ),
                Fate.REPLACED_AFTER_PRUNE: Promise(
                    S, "volume prune never touches host directories."
                ),
                Fate.INHERITED: ByEngine(
                    (
                        (DOCKER_BEFORE_23, _BIND_INHERITED),
                        (DOCKER_SINCE_23, _BIND_INHERITED),
                        (
                            PODMAN_4,
                            Promise(
                                R,
                                "Podman 4 refuses to create the container: the inherited bind "
                                "and the image's own VOLUME claim the same path (duplicate "
                                "mount destination).",
                            ),
                        ),
                        (PODMAN_SINCE_6, _BIND_INHERITED),
                    )
                ),
            },
            holder=Holder.BIND,
        ),
        StorageMode(
            "tmpfs",
            "--tmpfs /data",
            Resource.NONE,
            {
                **dict.fromkeys(Fate, _TMPFS_EMPTIED),
                Fate.INHERITED: Promise(
                    L, "tmpfs is memory of one container and is not inherited by the new one."
                ),
            },
            holder=Holder.TMPFS,
        ),
    )
}

STORAGE_NAMES: tuple[str, ...] = tuple(STORAGE_MODES)


def expect(
    storage: str, action: str, engine: EngineInfo, upgrade_line: str | None = None
) -> Promise:
    """The engine's promise for one cell. An upgrade is a recreate as far as the storage goes:
    storage that loses the data on a recreate loses it; storage that keeps it hands it to the
    next major version, whose answer (`upgrade_line`'s promise; None: images of unknown
    versions, which must read the rows) decides."""
    promise = STORAGE_MODES[storage].promise(ACTIONS[action], engine)
    if not ACTIONS[action].upgrades or promise.outcome is not Outcome.SURVIVES:
        return promise
    return promise_for(upgrade_promise(upgrade_line), engine)
