"""What holds a database's data directory: one vocabulary for every platform.

A `docker run` storage mode, a compose file's storage and a swarm service's mount each name one
of these; the engine's own word for the mount that realises it (`MountKind`, what an inspect
reports as a mount's `Type`) follows from it, so the placement check reads every platform's
containers alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from harness.model.placement import covering
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

    @property
    def starts_from_image(self) -> bool:
        """A new container's data directory starts as the image's content: the engine fills a
        new, empty volume from the image (anonymous, named or external alike), and the layer is
        the image; a bind shows the host directory and a tmpfs starts empty."""
        return self not in (Holder.BIND, Holder.TMPFS)


_MOUNT_KINDS: dict[Holder, MountKind | None] = {
    Holder.LAYER: None,
    Holder.IMAGE_VOLUME: MountKind.VOLUME,
    Holder.ANONYMOUS_VOLUME: MountKind.VOLUME,
    Holder.NAMED_VOLUME: MountKind.VOLUME,
    Holder.EXTERNAL_VOLUME: MountKind.VOLUME,
    Holder.BIND: MountKind.BIND,
    Holder.TMPFS: MountKind.TMPFS,
}


@dataclass(frozen=True)
class ObservedMount:
    """A mount as the engine reports it for a running container."""

    kind: str  # volume, bind, tmpfs
    destination: str
    name: str = ""  # volume name
    source: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.name or self.source} -> {self.destination}".replace("  ", " ")


def mount_holding(mounts: Sequence[ObservedMount], data_dir: str) -> ObservedMount | None:
    """The mount a container keeps `data_dir` on (the deepest that covers it); None: the
    writable layer."""
    by_destination = {m.destination: m for m in mounts}
    destination = covering(list(by_destination), data_dir)
    return by_destination[destination] if destination else None


def misplaced(
    holder: Holder, mount: ObservedMount | None, volume_name: str | None = None
) -> str | None:
    """Where the data is when that is not what `holder` says (a mount of its kind, or none for
    the layer; the named volume `volume_name` when one is given), said as "the writable layer"
    or the mount; None when it is where the storage puts it. One rule for every platform."""
    kind = mount.kind if mount else None
    wrong_volume = bool(volume_name and mount and mount.name != volume_name)
    if kind == holder.mount_kind and not wrong_volume:
        return None
    return mount.describe() if mount else "the writable layer"
