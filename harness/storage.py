"""One small object per storage mode: what it mounts, where data must end up, what it leaves.

Adding a mode is one new class and one entry in `STORAGE_MODES`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.types import Mount

from harness.engine import Engine, Session, remove_quietly


@dataclass
class StorageContext:
    """What a storage mode needs to set itself up for one deployment."""

    engine: Engine
    session: Session
    image: str
    mount_target: str
    name: str  # unique per deployment: names volumes and directories
    created: dict[str, str] = field(default_factory=dict)  # what was made, for cleanup


class StorageMode:
    name: str = ""
    in_layer = False  # the data directory must be moved off every declared volume

    def container_options(self, ctx: StorageContext) -> dict[str, Any]:
        """Options for a new container (`mounts`, `tmpfs`); resources are made on first use."""
        return {}

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        """Why the mount holding the data directory is not the intended one (None if it is)."""
        raise NotImplementedError

    def release(self, ctx: StorageContext) -> None:
        """Remove what `mounts` created."""


class Layer(StorageMode):
    name = "layer"
    in_layer = True

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        if mount is None:
            return None
        return f"the data directory is on a {mount.get('Type')} mount, not in the writable layer"


class Anonymous(StorageMode):
    """No `-v`: the image's `VOLUME` gives each container an anonymous volume."""

    name = "anonymous"

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        if mount is None:
            return (
                "no volume covers the data directory: the image declares no VOLUME over it, "
                "so it is in the writable layer"
            )
        if mount.get("Type") != "volume":
            return f"the data directory is on a {mount.get('Type')} mount, not a volume"
        return None


class Named(StorageMode):
    name = "named"

    def container_options(self, ctx: StorageContext) -> dict[str, Any]:
        if "volume" not in ctx.created:
            volume = ctx.engine.client.volumes.create(name=ctx.name, labels=ctx.session.labels)
            ctx.created["volume"] = str(volume.name)
        return {
            "mounts": [Mount(target=ctx.mount_target, source=ctx.created["volume"], type="volume")]
        }

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        if mount is None or mount.get("Name") != ctx.created.get("volume"):
            return f"the data directory is not on the named volume {ctx.created.get('volume')}"
        return None

    def release(self, ctx: StorageContext) -> None:
        if "volume" in ctx.created:
            ctx.engine.remove_volume(ctx.created["volume"])


class Bind(StorageMode):
    name = "bind"

    def container_options(self, ctx: StorageContext) -> dict[str, Any]:
        if "directory" not in ctx.created:
            ctx.created["directory"] = tempfile.mkdtemp(prefix=f"{ctx.name}-")
        return {
            "mounts": [Mount(target=ctx.mount_target, source=ctx.created["directory"], type="bind")]
        }

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        if mount is None or mount.get("Type") != "bind":
            return f"the data directory is not on the bind mount of {ctx.created.get('directory')}"
        return None

    def release(self, ctx: StorageContext) -> None:
        directory = ctx.created.get("directory")
        if directory and Path(directory).exists():
            _empty_as_container_root(ctx, directory)
            shutil.rmtree(directory, ignore_errors=True)


class Tmpfs(StorageMode):
    name = "tmpfs"

    def container_options(self, ctx: StorageContext) -> dict[str, Any]:
        # `--tmpfs`, as people type it. (`--mount type=tmpfs` differs: Engine 20.10 then
        # refuses `--volumes-from` that container with "get: no such volume".)
        return {"tmpfs": {ctx.mount_target: ""}}

    def placement_problem(self, mount: Mapping[str, Any] | None, ctx: StorageContext) -> str | None:
        if mount is None or mount.get("Type") != "tmpfs":
            return "the data directory is not on a tmpfs mount"
        return None


def _empty_as_container_root(ctx: StorageContext, directory: str) -> None:
    """The server wrote the files as its own uid; a root container removes them.

    The host needs neither that user nor root for this.
    """
    helper = ctx.engine.client.containers.run(
        ctx.image,
        entrypoint=["find", "/cleanup", "-mindepth", "1", "-delete"],
        command=[],
        user="0",
        labels=ctx.session.labels,
        mounts=[Mount(target="/cleanup", source=directory, type="bind")],
        detach=True,
    )
    try:
        helper.wait(timeout=60)
    finally:
        # v=True: the image's VOLUME gave the helper an anonymous volume too.
        remove_quietly(helper.remove, force=True, v=True)


STORAGE_MODES: dict[str, StorageMode] = {
    mode.name: mode for mode in (Layer(), Anonymous(), Named(), Bind(), Tmpfs())
}
