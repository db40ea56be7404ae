"""What holds a database's data directory: one vocabulary for every platform.

A `docker run` storage mode, a compose file's storage and a swarm service's mount each name one
of these; the engine's own word for the mount that realises it (`MountKind`, what an inspect
reports as a mount's `Type`) follows from it, so the placement check reads every platform's
containers alike.
"""

from __future__ import annotations

from enum import Enum

from harness.model.spec import MountKind


class Holder(Enum):
    LAYER = "the container's writable layer"  # no mount over the data directory
    IMAGE_VOLUME = "the anonymous volume the image's VOLUME gives each new container"
    ANONYMOUS_VOLUME = "an anonymous volume the configuration declares"  # compose `- /path`
    NAMED_VOLUME = "a named volume"
    EXTERNAL_VOLUME = "a named volume made outside the project"  # compose `external: true`
    BIND = "a host directory"  # on a swarm: a directory of the node
    TMPFS = "a tmpfs in the container's memory"

    @property
    def mount_kind(self) -> MountKind | None:
        """The engine's kind of the mount that holds the data (None: no mount at all)."""
        return _MOUNT_KINDS[self]

    @property
    def is_volume(self) -> bool:
        return self.mount_kind is MountKind.VOLUME


_MOUNT_KINDS: dict[Holder, MountKind | None] = {
    Holder.LAYER: None,
    Holder.IMAGE_VOLUME: MountKind.VOLUME,
    Holder.ANONYMOUS_VOLUME: MountKind.VOLUME,
    Holder.NAMED_VOLUME: MountKind.VOLUME,
    Holder.EXTERNAL_VOLUME: MountKind.VOLUME,
    Holder.BIND: MountKind.BIND,
    Holder.TMPFS: MountKind.TMPFS,
}
