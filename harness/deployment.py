"""A database deployment: one storage setup, through its successive containers.

A context manager: on exit, every container, volume and directory it made is removed, whatever
happened inside.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import docker.errors
from docker.models.containers import Container

from harness.containers import run_database, wait_until_ready
from harness.credentials import Credentials
from harness.databases import DatabaseProfile, DbConnection
from harness.engine import Engine, Session, remove_quietly, sweep
from harness.placement import ImageFacts, Placement, covering, place
from harness.storage import StorageContext, StorageMode

STOP_TIMEOUT = 10


class Deployment:
    def __init__(  # noqa: PLR0917 - the six things a deployment is made of
        self,
        engine: Engine,
        session: Session,
        profile: DatabaseProfile,
        image: str,
        creds: Credentials,
        storage: StorageMode,
    ) -> None:
        self.engine = engine
        self.session = session
        self.profile = profile
        self.creds = creds
        self.storage = storage
        facts = ImageFacts.from_config(image, engine.client.images.get(image).attrs["Config"])
        self.placement: Placement = place(profile, facts, in_layer=storage.in_layer)
        self.storage_ctx = StorageContext(
            engine=engine,
            session=session,
            image=image,
            mount_target=self.placement.mount_target,
            name=f"harness-{session.id}-{session.scope or 'run'}",
        )
        self.containers: list[Container] = []
        self.anonymous_volumes: list[str] = []
        # The anonymous volumes that held the data directory (not merely an unused VOLUME).
        self.data_volumes: set[str] = set()
        self._generation = 0

    @property
    def container(self) -> Container:
        return self.containers[-1]

    def __enter__(self) -> Deployment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tear_down()

    def start_new(self, *, volumes_from: Container | None = None) -> Container:
        """Create and start the next container: with the storage's mounts, or only those it
        inherits from `volumes_from`."""
        self._generation += 1
        options: dict[str, Any] = {
            "extra_env": self.placement.env,
            "command": self.placement.command,
        }
        if volumes_from is not None:
            options["volumes_from"] = [str(volumes_from.id)]
        else:
            options.update(self.storage.container_options(self.storage_ctx))
        container = run_database(
            self.engine,
            self.session,
            self.profile,
            self.storage_ctx.image,
            self.creds,
            name=f"{self.storage_ctx.name}-{self._generation}",
            **options,
        )
        self.containers.append(container)
        self._record_anonymous_volumes(container)
        return container

    def connect(self) -> DbConnection:
        """Wait until the current container answers as the application user."""
        return wait_until_ready(self.container, self.profile, self.creds)

    def retire(self, *, remove_volumes: bool) -> None:
        """Stop and remove the current container (`docker rm`, with `-v` when asked)."""
        self.container.stop(timeout=STOP_TIMEOUT)
        self.container.remove(v=remove_volumes)

    def prune_volumes(self) -> None:
        """`docker volume prune`, limited to what this deployment made.

        A real prune would remove every unused volume on the engine, other people's too. This one
        prunes volumes with this deployment's labels (the engine applies its own rules, which
        differ between versions, to which of them go) and removes this deployment's unused
        anonymous volumes, which the engine prunes in every version.
        """
        self.engine.client.volumes.prune(filters={"label": self.session.label_filters})
        for name in self.dangling_volumes():
            self.engine.remove_volume(name)

    def dangling_volumes(self) -> list[str]:
        """This deployment's anonymous volumes that no container uses any more."""
        dangling = []
        for name in self.anonymous_volumes:
            users = self.engine.client.containers.list(all=True, filters={"volume": name})
            try:
                self.engine.client.volumes.get(name)
            except docker.errors.NotFound:
                continue
            if not users:
                dangling.append(name)
        return dangling

    def data_mount(self, data_dir: str) -> dict[str, Any] | None:
        """The current container's mount that holds `data_dir` (None: the writable layer)."""
        mounts = {m["Destination"]: m for m in self._mounts()}
        destination = covering(list(mounts), data_dir)
        return mounts[destination] if destination else None

    def _mounts(self) -> list[dict[str, Any]]:
        """Volumes and binds, plus `--tmpfs` mounts, which the engine lists elsewhere."""
        self.container.reload()
        mounts = list(self.container.attrs.get("Mounts") or [])
        tmpfs = self.container.attrs.get("HostConfig", {}).get("Tmpfs") or {}
        return mounts + [{"Type": "tmpfs", "Destination": path} for path in tmpfs]

    def describe_mounts(self) -> str:
        mounts = self._mounts()
        if not mounts:
            return "no mounts (everything in the writable layer)"
        return "; ".join(
            f"{m.get('Type')} {m.get('Name') or m.get('Source') or ''} -> {m.get('Destination')}"
            for m in mounts
        )

    def tear_down(self) -> None:
        for container in reversed(self.containers):
            remove_quietly(lambda c=container: c.remove(force=True, v=True))
        for name in self.anonymous_volumes:
            self.engine.remove_volume(name)
        self.storage.release(self.storage_ctx)
        if self.session.scope:
            sweep(self.engine, self.session)

    def _record_anonymous_volumes(self, container: Container) -> None:
        container.reload()
        for mount in container.attrs.get("Mounts") or []:
            name = mount.get("Name")
            if (
                mount.get("Type") == "volume"
                and name
                and name != self.storage_ctx.created.get("volume")
                and name not in self.anonymous_volumes
            ):
                self.anonymous_volumes.append(str(name))
