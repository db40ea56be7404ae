"""A database deployment: one storage setup, through its successive containers.

A context manager: on exit, every container, volume and directory it made is removed, whatever
happened inside.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from types import TracebackType
from typing import assert_never

from testcontainers.core.container import DockerContainer

from harness.containers.engine import Engine, Session, sweep
from harness.containers.managed import ManagedContainer, configure
from harness.containers.readiness import wait_until_ready
from harness.containers.run_state import RunState
from harness.containers.secrets import is_secret_mount
from harness.errors import HarnessError
from harness.model.faults import CellSteps
from harness.model.holders import ObservedMount
from harness.model.placement import ImageFacts, Placement, covering, place
from harness.model.platforms.actions import Action, Step
from harness.model.platforms.storage import Resource, StorageMode
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DatabaseProfile
from harness.model.servers.persons import DbConnection
from harness.model.spec import ContainerSpec, MountKind


def placement_for(
    engine: Engine, profile: DatabaseProfile, storage: StorageMode, spec: ContainerSpec
) -> Placement:
    """Where the data directory of a container configured as `spec` lies, and what the storage
    mode must mount, read from the image's config (the container's own env and command win)."""
    facts = ImageFacts.from_config(spec.image, engine.image_attrs(spec.image)["Config"])
    return place(profile, facts, in_layer=storage.in_layer, env=spec.env, command=spec.command)


class Deployment:
    def __init__(  # noqa: PLR0917 - the things a deployment is made of
        self,
        engine: Engine,
        session: Session,
        profile: DatabaseProfile,
        creds: Credentials,
        storage: StorageMode,
        pristine: DockerContainer,
        base_spec: ContainerSpec,
        next_version_image: str | None = None,
    ) -> None:
        self.engine = engine
        self.session = session
        self.profile = profile
        self.creds = creds
        self.storage = storage
        self.pristine = pristine
        self.base_spec = base_spec
        # What the `upgrade` action runs on the same storage (None: the action cannot run).
        self.next_version_image = next_version_image
        self.placement: Placement = placement_for(engine, profile, storage, base_spec)
        self.name = f"harness-{session.id}-{session.scope or 'run'}"
        self.resource: str | None = None  # the named volume or host directory, once made
        self.containers: list[ManagedContainer] = []
        self.anonymous_volumes: list[str] = []
        # The anonymous volumes that held the data directory (not merely an unused VOLUME).
        self.data_volumes: set[str] = set()
        # Which step the cell is in, for the cause of a failure and the engine's events.
        self.steps = CellSteps()

    @property
    def container(self) -> ManagedContainer:
        return self.containers[-1]

    def __enter__(self) -> Deployment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.tear_down()
            return
        # The cell's own failure is the one to report (the engine gone, say); what the
        # teardown could not remove goes at the run's end, or with `clean`.
        with contextlib.suppress(Exception):
            self.tear_down()

    def spec(
        self, *, volumes_from: ManagedContainer | None = None, image: str | None = None
    ) -> ContainerSpec:
        """The next container's configuration: the base one (on `image`, when given), the data
        directory's placement, this run's labels, and the storage mode's mount (or the old
        container's, inherited)."""
        spec = (
            self.base_spec.with_image(image or self.base_spec.image)
            .with_env(self.placement.env)
            .with_labels(self.session.labels)
            .with_ports(self.profile.port)
            .named(f"{self.name}-{len(self.containers) + 1}")
        )
        if self.placement.command is not None:
            spec = spec.with_command(tuple(self.placement.command))
        if volumes_from is not None:
            return spec.inheriting_from(volumes_from.id)
        return self.storage.configure(spec, self.placement.mount_target, self._provision())

    def start_new(
        self, *, volumes_from: ManagedContainer | None = None, image: str | None = None
    ) -> ManagedContainer:
        """Create and start the next container (`docker run`), of `image` if given."""
        spec = self.spec(volumes_from=volumes_from, image=image)
        container = configure(self.pristine, spec, self.engine, publish=(self.profile.port,))
        managed = ManagedContainer.start(container, self.engine, spec)
        self.containers.append(managed)
        self._record_anonymous_volumes(managed)
        return managed

    def connect(self) -> DbConnection:
        """Wait until the current container answers as the application user."""
        return wait_until_ready(self.container, self.profile, self.creds)

    def perform(self, action: Action) -> None:
        """Apply the action's steps to the current container, as a person would type them."""
        for step in action.steps:
            match step:
                case Step.RESTART:
                    self.container.restart()
                case Step.STOP:
                    self.container.stop()
                case Step.KILL:
                    self.container.kill()
                case Step.START:
                    self.container.start_again()
                case Step.REMOVE:
                    self.container.remove(volumes=False)
                case Step.REMOVE_WITH_VOLUMES:
                    self.container.remove(volumes=True)
                case Step.PRUNE_VOLUMES:
                    self.prune_volumes()
                case Step.RUN_NEW:
                    self.start_new()
                case Step.RUN_WITH_VOLUMES_FROM:
                    self.start_new(volumes_from=self.container)
                case Step.RUN_NEXT_VERSION:
                    self.start_next_version()
                case _:
                    assert_never(step)

    def start_next_version(self) -> ManagedContainer:
        """`docker run` of the next major version's image on the same storage."""
        if self.next_version_image is None:
            raise HarnessError(
                "The upgrade action needs the next major version's image; run it with the "
                "harness's own images or `upgrade-check --from --to`."
            )
        return self.start_new(image=self.next_version_image)

    def prune_volumes(self) -> None:
        """`docker volume prune`, limited to what this deployment made.

        A real prune would remove every unused volume on the engine, other people's too. This one
        prunes volumes with this deployment's labels (the engine applies its own rules, which
        differ between versions, to which of them go) and removes this deployment's unused
        anonymous volumes, which the engine prunes in every version.
        """
        self.engine.prune_volumes(self.session.label_filters)
        for name in self.dangling_volumes():
            self.engine.remove_volume(name)

    def dangling_volumes(self) -> list[str]:
        """This deployment's anonymous volumes that no container uses any more."""
        return [
            name
            for name in self.anonymous_volumes
            if self.engine.volume_exists(name) and not self.engine.volume_users(name)
        ]

    def data_mount(self, data_dir: str) -> ObservedMount | None:
        """The current container's mount that holds `data_dir` (None: the writable layer)."""
        mounts = {m.destination: m for m in self.container.mounts()}
        destination = covering(list(mounts), data_dir)
        return mounts[destination] if destination else None

    def describe_mounts(self) -> str:
        # Password files are how the container is configured, not where its data goes.
        mounts = [m for m in self.container.mounts() if not is_secret_mount(m.destination)]
        if not mounts:
            return "no mounts (everything in the writable layer)"
        return "; ".join(m.describe() for m in mounts)

    def tear_down(self) -> None:
        self.steps.finish()
        for container in reversed(self.containers):
            container.remove(volumes=True)
        for name in self.anonymous_volumes:
            self.engine.remove_volume(name)
        self._release()
        if self.session.scope:
            sweep(self.engine, self.session)

    def _provision(self) -> str | None:
        """The storage mode's named volume or host directory, made on first use."""
        if self.resource is None:
            match self.storage.resource:
                case Resource.VOLUME:
                    self.resource = self.engine.create_volume(self.name, self.session.labels)
                case Resource.DIRECTORY:
                    directory = RunState.of(self.session).new_directory("binds", f"{self.name}-")
                    self.resource = str(directory)
                case Resource.NONE:
                    pass
                case _:
                    assert_never(self.storage.resource)
        return self.resource

    def _release(self) -> None:
        if self.resource is None:
            return
        if self.storage.resource is Resource.VOLUME:
            self.engine.remove_volume(self.resource)
        elif Path(self.resource).exists():
            self.empty_as_root(self.resource)
            shutil.rmtree(self.resource, ignore_errors=True)

    def empty_as_root(self, directory: str) -> None:
        self.engine.empty_as_root(directory, self.base_spec.image, self.session.labels)

    def _record_anonymous_volumes(self, container: ManagedContainer) -> None:
        # A named volume of the container's own configuration (a student's `-v db:/data`) is
        # not anonymous: the prune step must leave its fate to the engine's rules.
        named = {self.resource} | {
            m.source for m in self.base_spec.mounts if m.kind is MountKind.VOLUME and m.source
        }
        new = [
            mount.name
            for mount in container.mounts()
            if mount.kind == "volume"
            and mount.name
            and mount.name not in named
            and mount.name not in self.anonymous_volumes
        ]
        # On disk before any step could leave them dangling: a run killed after this point is
        # still cleaned up completely (the engine cannot label an anonymous volume).
        RunState.of(self.session).record_volumes(new)
        self.anonymous_volumes += new
