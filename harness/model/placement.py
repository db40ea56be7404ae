"""Where a database image keeps its data, read from the image's own config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from harness.errors import UsageError
from harness.model.servers.databases import DatabaseProfile

# Outside every path an official or local database image declares as a volume.
LAYER_ROOT = "/srv/harness-layer"


def covers(parent: str, path: str) -> bool:
    """Whether `path` is `parent` or lies below it."""
    parent_path, child = PurePosixPath(parent), PurePosixPath(path)
    return child == parent_path or parent_path in child.parents


def covering(paths: Sequence[str], path: str) -> str | None:
    """The deepest of `paths` that covers `path`."""
    candidates = [p for p in paths if covers(p, path)]
    return max(candidates, key=lambda p: len(PurePosixPath(p).parts), default=None)


@dataclass(frozen=True)
class ImageFacts:
    ref: str
    env: dict[str, str]
    declared_volumes: tuple[str, ...]
    cmd: tuple[str, ...]
    exposed_ports: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, ref: str, config: Mapping[str, Any]) -> ImageFacts:
        env = dict(item.split("=", 1) for item in (config.get("Env") or []) if "=" in item)
        return cls(
            ref=ref,
            env=env,
            declared_volumes=tuple(sorted(config.get("Volumes") or {})),
            cmd=tuple(config.get("Cmd") or ()),
            exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        )


@dataclass(frozen=True)
class Placement:
    """Where the data should be, and how the container must be configured to put it there."""

    data_dir: str
    mount_target: str  # where a volume, bind or tmpfs goes to hold `data_dir`
    env: dict[str, str]
    command: list[str] | None


def place(
    profile: DatabaseProfile,
    image: ImageFacts,
    *,
    in_layer: bool,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> Placement:
    """The data directory and its mount point; `in_layer` moves it off every declared volume.

    `env` and `command` are the container's own (they win over the image's). The mount target is
    the declared volume covering the data directory (postgres:18 declares /var/lib/postgresql and
    keeps data in /var/lib/postgresql/18/docker), else the directory.
    """
    data_dir = profile.data_dir_from_image({**image.env, **(env or {})})
    if not in_layer:
        target = covering(image.declared_volumes, data_dir) or data_dir
        return Placement(data_dir=data_dir, mount_target=target, env={}, command=None)
    relocated = f"{LAYER_ROOT}/{profile.name}"
    if covering(image.declared_volumes, relocated):
        raise UsageError(
            f"Image {image.ref} declares a volume over {relocated}; the layer mode needs a path "
            "outside every declared volume."
        )
    env_out, extra_args = profile.relocate(relocated)
    base_command = list(command) if command else list(image.cmd)
    command_out = [*base_command, *extra_args] if extra_args else None
    return Placement(data_dir=relocated, mount_target=relocated, env=env_out, command=command_out)
