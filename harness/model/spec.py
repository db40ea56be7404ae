"""A container's configuration as one typed, frozen value.

Storage modes, the data-directory placement and the session's labels each return a changed copy;
the container layer turns the final value into testcontainers builder calls in one place. A
student's `docker run` line (the grading issue) parses into the same value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import PurePosixPath
from types import MappingProxyType

from harness.errors import UsageError


class MountKind(StrEnum):
    """The engine's kinds of mount, as an inspect reports a mount's `Type`."""

    VOLUME = "volume"  # a named volume: `-v name:/path`
    BIND = "bind"  # a host directory: `-v /host/dir:/path`
    TMPFS = "tmpfs"  # memory: `--tmpfs /path` (kept in ContainerSpec.tmpfs, never a Mount)


@dataclass(frozen=True)
class Mount:
    kind: MountKind
    source: str
    target: str
    read_only: bool = False


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


def overlaps(a: str, b: str) -> bool:
    """Whether one path is the other or lies below it: two mounts there would fight."""
    first, second = PurePosixPath(a), PurePosixPath(b)
    return first == second or first in second.parents or second in first.parents


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None  # None: the image's CMD
    mounts: tuple[Mount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    volumes_from: tuple[str, ...] = ()  # container ids whose volumes and binds are mounted
    ports: tuple[int, ...] = ()  # container ports to publish on an ephemeral host port
    labels: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", _frozen(self.env))
        object.__setattr__(self, "labels", _frozen(self.labels))

    @property
    def mount_points(self) -> tuple[str, ...]:
        """Every path something is mounted at (volumes, binds, tmpfs)."""
        return tuple(m.target for m in self.mounts) + self.tmpfs

    def _check_free(self, target: str) -> None:
        for taken in self.mount_points:
            if overlaps(taken, target):
                raise UsageError(
                    f"The container already mounts something at {taken}, which overlaps {target} "
                    "where the storage mode mounts the data directory; remove that mount or "
                    "choose the storage mode that matches it."
                )

    def with_mount(self, mount: Mount) -> ContainerSpec:
        self._check_free(mount.target)
        return replace(self, mounts=(*self.mounts, mount))

    def with_tmpfs(self, target: str) -> ContainerSpec:
        self._check_free(target)
        return replace(self, tmpfs=(*self.tmpfs, target))

    def with_env(self, env: Mapping[str, str]) -> ContainerSpec:
        return replace(self, env={**self.env, **env})

    def with_labels(self, labels: Mapping[str, str]) -> ContainerSpec:
        return replace(self, labels={**self.labels, **labels})

    def with_command(self, command: tuple[str, ...] | None) -> ContainerSpec:
        return replace(self, command=command)

    def with_ports(self, *ports: int) -> ContainerSpec:
        return replace(self, ports=tuple(dict.fromkeys((*self.ports, *ports))))

    def with_image(self, image: str) -> ContainerSpec:
        return replace(self, image=image)

    def named(self, name: str | None) -> ContainerSpec:
        return replace(self, name=name)

    def inheriting_from(self, container_id: str) -> ContainerSpec:
        """`docker run --volumes-from old`: the old container's mounts, none of its own."""
        return replace(self, mounts=(), tmpfs=(), volumes_from=(*self.volumes_from, container_id))


def image_name(ref: str) -> str:
    """`mysql:8.4` -> `mysql`; `docker.io/library/postgres` -> `postgres`."""
    last = PurePosixPath(ref.split("@", 1)[0]).name
    return last.split(":", 1)[0]
