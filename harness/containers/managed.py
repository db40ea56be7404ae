"""Database containers as testcontainers containers, built from a `ContainerSpec`.

testcontainers is the container layer: every database container the harness starts is a
testcontainers `DockerContainer` (the user's own, for bring-your-own checks, or a core one for
the matrix), configured through its builder and started by it. The harness keeps three things
for itself: readiness (a real query as the application user; testcontainers' MySQL log wait hangs
on an initialised volume), labels, and cleanup. `DockerContainer.stop()` removes the container
*with* its volumes, which would fake a persistence result, so removal here says which it wants.
"""

from __future__ import annotations

import contextlib
import copy
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

import docker.errors
from docker.models.containers import Container
from docker.types import Mount as SdkMount
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.exceptions import ContainerStartException

from harness.containers.addressing import endpoint_of
from harness.containers.engine import Engine, remove_quietly, sdk_mounts
from harness.errors import EngineRefused, HarnessError, ImageMissing, NotRunning
from harness.model.holders import ObservedMount
from harness.model.loopback import url_on_this_machine
from harness.model.spec import ContainerSpec, Mount, MountKind

STOP_TIMEOUT = 10


@contextlib.contextmanager
def _without_reaper() -> Iterator[None]:
    """testcontainers' Ryuk reaper is an image from a registry; the harness sweeps its own
    labels instead, so its containers start without one (the user's setting comes back after)."""
    previous = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True
    try:
        yield
    finally:
        testcontainers_config.ryuk_disabled = previous


def _extra_kwargs(container: DockerContainer) -> dict[str, Any]:
    # testcontainers keeps `with_kwargs` values in `_kwargs` and offers no getter; reading it is
    # the only way to keep the user's own settings (network mode, labels, mounts) when adding ours.
    return dict(getattr(container, "_kwargs", {}) or {})


def spec_of(container: DockerContainer) -> ContainerSpec:
    """What a testcontainers container is configured with (before it starts)."""
    kwargs = _extra_kwargs(container)
    mounts: list[Mount] = []
    for source, mapping in container.volumes.items():
        kind = MountKind.BIND if source.startswith("/") else MountKind.VOLUME
        mounts.append(Mount(kind, source, mapping["bind"], read_only=mapping["mode"] == "ro"))
    tmpfs = list(container.tmpfs)
    for sdk_mount in kwargs.get("mounts") or []:
        target, mount_type = str(sdk_mount.get("Target")), str(sdk_mount.get("Type"))
        if mount_type == "tmpfs":
            tmpfs.append(target)
        else:
            mounts.append(
                Mount(
                    MountKind(mount_type),
                    str(sdk_mount.get("Source")),
                    target,
                    bool(sdk_mount.get("ReadOnly")),
                )
            )
    command = getattr(container, "_command", None)
    if isinstance(command, str):
        command = shlex.split(command)
    return ContainerSpec(
        image=container.image,
        env=dict(container.env),
        command=tuple(command) if command else None,
        mounts=tuple(mounts),
        tmpfs=tuple(tmpfs),
        volumes_from=tuple(kwargs.get("volumes_from") or ()),
        ports=tuple(int(str(port).split("/")[0]) for port in container.ports),
        labels=dict(kwargs.get("labels") or {}),
    )


def pristine_copy(container: DockerContainer) -> DockerContainer:
    """An unstarted copy whose builder state is its own: the user's object is never changed."""
    twin = copy.copy(container)
    twin.env = dict(container.env)
    twin.ports = dict(container.ports)
    twin.volumes = dict(container.volumes)
    twin.tmpfs = dict(container.tmpfs)
    twin.with_kwargs(**_extra_kwargs(container))
    # A copy of a started container must start afresh, not share the original's engine object.
    twin._container = None
    twin._cached_container_info = None
    return twin


def configure(
    pristine: DockerContainer, spec: ContainerSpec, engine: Engine, publish: tuple[int, ...]
) -> DockerContainer:
    """A copy of `pristine` configured exactly as `spec` says, through testcontainers' builder.

    Mounts are replaced wholesale (a `--volumes-from` container must not repeat the old one's);
    `publish` ports are not published when the container is reached at its own address (an
    engine on this machine), go to the loopback address the engine is reached at when it is
    reached on one (a database with a known password must not face the network), else wherever
    the engine publishes them.
    """
    container = pristine_copy(pristine)
    container.image = spec.image  # an upgrade runs the next version's image on the same storage
    container.env = dict(spec.env)
    if spec.command is not None:
        container.with_command(list(spec.command))
    if spec.name:
        container.with_name(spec.name)
    container.volumes = {}
    container.tmpfs = {}
    for path in spec.tmpfs:
        container.with_tmpfs_mount(path)
    for port in spec.ports:
        container.with_exposed_ports(port)
    kwargs = _extra_kwargs(pristine)
    kwargs.pop("mounts", None)
    kwargs.pop("volumes_from", None)
    mounts: list[SdkMount] = sdk_mounts(spec)
    kwargs |= {"labels": dict(spec.labels), "mounts": mounts}
    if spec.volumes_from:
        kwargs["volumes_from"] = list(spec.volumes_from)
    container.with_kwargs(**kwargs)
    if engine.reaches_by_address and not kwargs.get("network_mode"):
        for port in publish:
            # Reached at the container's own address (harness.model.addressing says when), so
            # the engine picks and binds no host port for it.
            container.ports.pop(str(port), None)
            container.ports.pop(f"{port}/tcp", None)
    elif engine.publish_ip:
        for port in publish:
            # docker-py takes (ip, None) for "this address, any port"; testcontainers' builder
            # only types a port number, so the binding is set on its port table directly.
            container.ports[f"{port}/tcp"] = (engine.publish_ip, None)  # type: ignore[assignment]
            container.ports.pop(str(port), None)
    return container


class ManagedContainer:
    """One started container of a deployment; lifecycle steps go through the wrapped container."""

    def __init__(self, container: DockerContainer, engine: Engine, spec: ContainerSpec) -> None:
        self.tc = container
        self.engine = engine
        self.spec = spec

    @classmethod
    def start(
        cls, container: DockerContainer, engine: Engine, spec: ContainerSpec
    ) -> ManagedContainer:
        """Start through testcontainers' core start (its database modules' log waits are not
        used: they hang on an initialised volume and pass early after a restart)."""
        if not engine.has_image(container.image):
            # testcontainers would pull; the harness never does.
            raise ImageMissing(
                f"Image {container.image} is not on the engine; build or pull it first "
                "(`make images` for the harness's local images)."
            )
        api = container.get_docker_client().client.api
        talks_to = str(api.base_url)
        if talks_to != engine.base_url:
            raise HarnessError(
                f"The container would start on the engine at {talks_to}, but the harness uses "
                f"{engine.target}; set DOCKER_HOST once for both."
            )
        if url_on_this_machine(talks_to):
            api.trust_env = False  # no proxy lookups on every call (see Engine.connect)
        managed = cls(container, engine, spec)
        try:
            with _without_reaper():
                DockerContainer.start(container)
            # A database module's seed scripts (MySqlContainer(seed=DIR)) are part of the user's
            # configuration; the module copies them in after start, so this does too. The
            # entrypoint runs them on first initialisation only.
            transfer_seed = getattr(container, "_transfer_seed", None)
            if callable(transfer_seed):
                transfer_seed()
        except docker.errors.APIError as error:
            managed.remove(volumes=True)
            explanation = error.explanation or str(error)
            raise EngineRefused(
                f"The engine refused to start a container of {container.image}: {explanation}; "
                "check the container's settings."
            ) from None
        return managed

    @property
    def wrapped(self) -> Container:
        return self.tc.get_wrapped_container()

    @property
    def id(self) -> str:
        return str(self.wrapped.id)

    @property
    def name(self) -> str:
        return str(self.wrapped.name)

    def restart(self) -> None:
        self.wrapped.restart(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        self.wrapped.stop(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; only what the server made durable counts.
        NotRunning when the container had already stopped (the engine answers 409)."""
        try:
            self.wrapped.kill()
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: the engine says it is not running
                raise
            message = f"Container {self.name} is not running; it cannot be killed."
            raise NotRunning(message) from None
        self.wrapped.wait()

    def start_again(self) -> None:
        self.wrapped.start()

    def remove(self, *, volumes: bool) -> None:
        """`docker rm -f`, with `-v` only when asked (never testcontainers' `stop()`)."""
        try:
            container = self.wrapped
        except ContainerStartException:
            return  # never created
        remove_quietly(lambda: container.remove(force=True, v=volumes))

    def endpoint(self, port: int, *, fresh: bool = True) -> tuple[str, int]:
        """Where `port` is reachable from here: the container's own address when nothing is
        published for it (see `configure`), 127.0.0.1 for a local engine, else the host
        testcontainers resolves (a TCP engine's address, a docker-in-docker gateway).
        `fresh=False` reads the inspect data the last `state()` fetched."""
        container = self.wrapped
        if fresh:
            container.reload()
        network = container.attrs["NetworkSettings"]
        return endpoint_of(network, port, self.engine, self.name, self.tc.get_container_host_ip)

    def environment(self) -> dict[str, str]:
        """The container's environment as configured (the image's and its own)."""
        self.wrapped.reload()
        items = self.wrapped.attrs["Config"].get("Env") or []
        return dict(item.split("=", 1) for item in items if "=" in item)

    def state(self) -> Mapping[str, Any]:
        self.wrapped.reload()
        state: Mapping[str, Any] = self.wrapped.attrs["State"]
        return state

    def logs(self, tail: int) -> str:
        return bytes(self.wrapped.logs(tail=tail)).decode(errors="replace")

    def mounts(self) -> list[ObservedMount]:
        """Volumes and binds, plus `--tmpfs` mounts, which the engine lists elsewhere."""
        self.wrapped.reload()
        return observed_mounts(self.wrapped.attrs)


def observed_mounts(attrs: Mapping[str, Any]) -> list[ObservedMount]:
    """A container's volumes and binds from its inspect data, plus `--tmpfs` mounts, which the
    engine lists elsewhere."""
    observed = [
        ObservedMount(
            kind=str(m.get("Type")),
            destination=str(m.get("Destination")),
            name=str(m.get("Name") or ""),
            source=str(m.get("Source") or ""),
        )
        for m in attrs.get("Mounts") or []
    ]
    tmpfs = (attrs.get("HostConfig") or {}).get("Tmpfs") or {}
    return observed + [ObservedMount("tmpfs", path) for path in tmpfs]
