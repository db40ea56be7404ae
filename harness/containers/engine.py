"""The container engine connection: the one door to the Docker SDK.

Preflight, identity, labels, images, volumes, and sweeping what the harness created all go
through `Engine`; nothing else in the harness calls the SDK's client.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import socket
import sys
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container
from docker.types import CancellableStream
from docker.types import Mount as SdkMount

from harness.containers.retry import Backoff, RetryExhausted, retry
from harness.errors import EngineUnavailable, ImageMissing
from harness.model.addressing import ConnectMode, EngineHost, connect_mode, reaches_by_address
from harness.model.engine_info import EngineInfo, identify
from harness.model.loopback import loopback_publish_ip, url_on_this_machine
from harness.model.spec import ContainerSpec, Mount, MountKind

SESSION_LABEL = "harness.session"
# Extends the contract: which process owns a session, so `clean` can spare live runs.
OWNER_LABEL = "harness.owner"
# Extends the contract: one scenario or test inside a run, so it can clean up only its own.
SCOPE_LABEL = "harness.scope"
IMAGE_LABEL = "harness.image"

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
COPY_RETRY = Backoff(attempts=4, deadline_seconds=20.0, first_wait=0.2, max_wait=2.0)
ANSWER_TIMEOUT = 3  # seconds an engine gets to answer its first request (a local one: ms)


def engine_target(environ: Mapping[str, str]) -> str:
    """Where the Docker SDK will look for an engine, for messages."""
    host = environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else f"the default socket {DEFAULT_SOCKET}"


@dataclass
class Engine:
    """A connected engine. Create with `Engine.connect()`."""

    client: DockerClient
    info: EngineInfo
    target: str
    # The DOCKER_HOST it was reached at (None: the default socket), so that another process of
    # the run can reach the same engine.
    docker_host: str | None = None
    # HARNESS_CONNECT as it was when the engine was connected (checked then: exit 2 if unknown).
    reach: ConnectMode = ConnectMode.AUTO
    # What stops with the connection (a watch on the engine's restarts), run by `close`.
    on_close: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @classmethod
    def connect(cls, environ: Mapping[str, str] | None = None, timeout: int = 120) -> Engine:
        env = dict(os.environ if environ is None else environ)
        target = engine_target(env)
        mode = connect_mode(env)
        try:
            # An address that accepts the connection and never answers must not hold the run
            # for the long timeout that image builds and pulls need.
            client = docker.DockerClient.from_env(environment=env, timeout=ANSWER_TIMEOUT)
            if url_on_this_machine(str(client.api.base_url)):
                # requests reads every proxy variable of the environment on each call (~0.2 s
                # of CPU per cell); no proxy stands between this machine and its own engine.
                client.api.trust_env = False
            payload = client.version()
            client.api.timeout = timeout
        except Exception as error:  # the SDK raises many kinds; all mean "no engine here"
            raise EngineUnavailable(
                f"No container engine answers at {target}; run `make engine` "
                f"(or start Docker) and try again. ({type(error).__name__})"
            ) from None
        return cls(
            client=client,
            info=identify(payload),
            target=target,
            docker_host=env.get("DOCKER_HOST"),
            reach=mode,
        )

    @property
    def base_url(self) -> str:
        return str(self.client.api.base_url)

    @property
    def _host_overridden(self) -> bool:
        """testcontainers' TC_HOST / TESTCONTAINERS_HOST_OVERRIDE / _CONNECTION_MODE: then it,
        not the harness, says where a container's ports are reachable."""
        return any(
            os.environ.get(name)
            for name in (
                "TC_HOST",
                "TESTCONTAINERS_HOST_OVERRIDE",
                "TESTCONTAINERS_CONNECTION_MODE",
            )
        )

    @property
    def is_local(self) -> bool:
        """Whether the engine is reached on a unix socket of this machine, no override."""
        return self.base_url.startswith("http+docker://") and not self._host_overridden

    @property
    def publish_ip(self) -> str | None:
        """The loopback address ports are published on and reached at, when the engine is
        reached on one (a unix socket: 127.0.0.1; a TCP engine at 127.0.0.2: that). A database
        with a known password must not face the network. None: where the engine publishes by
        default, reached where testcontainers says (a remote engine, docker-in-docker on its
        own address, an override)."""
        if self._host_overridden:
            return None
        return loopback_publish_ip(self.base_url)

    @functools.cached_property
    def reaches_by_address(self) -> bool:
        """Whether database containers are reached at their own addresses, nothing published
        (harness.model.addressing says when); asked of the engine once."""
        info: Mapping[str, Any] = {}
        if self.reach is ConnectMode.AUTO and self.is_local:  # only then does auto need it
            with contextlib.suppress(Exception):  # an engine that will not say: publish
                info = self.client.info()
        host = EngineHost.from_info(
            info,
            local=self.is_local,
            linux=sys.platform.startswith("linux"),
            hostname=socket.gethostname(),
        )
        return reaches_by_address(self.reach, host)

    # Images

    def has_image(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def image_attrs(self, ref: str) -> dict[str, Any]:
        """The image's inspect data; ImageMissing (one sentence) when it is not there."""
        try:
            attrs: dict[str, Any] = self.client.images.get(ref).attrs
        except docker.errors.ImageNotFound:
            raise ImageMissing(
                f"Image {ref} is not on the engine; build or pull it first (`docker images` "
                "lists what is there)."
            ) from None
        return attrs

    def image_history(self, ref: str) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = self.client.api.history(ref)  # type: ignore[no-untyped-call]
        return history

    def labelled_images(self, label: str) -> list[tuple[str, list[str], Mapping[str, str], int]]:
        """(id, tags, labels, size) of each image carrying `label` (`key` or `key=value`)."""
        # Low-level: no inspect per image, so one removed meanwhile cannot raise ImageNotFound.
        return [
            (
                str(i["Id"]),
                [t for t in i.get("RepoTags") or [] if t != "<none>:<none>"],
                dict(i.get("Labels") or {}),
                int(i.get("Size", 0)),
            )
            for i in self.client.api.images(filters={"label": label})
        ]

    def remove_image(self, ref: str, *, force: bool) -> bool:
        """Remove an image; False when the engine refuses (a container or child uses it)."""
        try:
            self.client.images.remove(ref, force=force)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            return False
        return True

    def remove_untagged_image(self, ref: str) -> None:
        """Remove an image unless it carries a tag (then it is someone's, a base perhaps) or is
        gone already; a refusal (a child or a container uses it) leaves it."""
        try:
            image = self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return
        if not image.tags:
            self.remove_image(str(image.id), force=False)

    def in_registry(self, ref: str) -> bool:
        """Whether a registry knows `ref` (the manifest only, no layers)."""
        try:
            self.client.api.inspect_distribution(ref)  # type: ignore[no-untyped-call]
        except Exception:  # unreachable, unknown, unauthorised: all mean "not for us"
            return False
        return True

    def pull(self, ref: str) -> None:
        self.client.images.pull(ref)

    def build_image(self, **options: Any) -> Iterator[dict[str, Any]]:
        """`docker build` through the low-level API, as decoded progress chunks."""
        stream: Iterator[dict[str, Any]] = self.client.api.build(decode=True, **options)
        return stream

    def archive_of(self, container_id: str, path: str) -> Iterator[bytes]:
        """`docker cp CONTAINER:PATH -`: a tar stream of `path` in the container's filesystem
        (the container need not run)."""
        chunks, _stat = self.client.api.get_archive(container_id, path)
        return iter(chunks)

    def commit(
        self,
        container_id: str,
        repository: str,
        tag: str,
        changes: str,
        config: Mapping[str, Any],
    ) -> None:
        """`docker commit` with `config` as the image's configuration (not the container's)."""
        self.client.api.commit(container_id, repository, tag, changes=changes, conf=dict(config))

    def import_image(self, tar: IO[bytes], repository: str, tag: str, changes: list[str]) -> None:
        # docker-py declares the body chunked, but requests chunks only a body whose length it
        # cannot tell: a regular file would go unchunked and the engine refuses it ("header line
        # too long"). Reading it in chunks makes every source a stream.
        chunks = iter(lambda: tar.read(1 << 20), b"")
        self.client.api.import_image_from_stream(
            chunks, repository=repository, tag=tag, changes=changes
        )

    # Volumes

    def create_volume(self, name: str, labels: Mapping[str, str]) -> str:
        return str(self.client.volumes.create(name=name, labels=dict(labels)).name)

    def volume_exists(self, name: str) -> bool:
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            return False
        return True

    def volume_users(self, name: str) -> list[str]:
        """Names of the containers (running or not) that mount the volume."""
        # Low-level: nothing to inspect, so a user removed meanwhile cannot raise NotFound.
        users = self.client.api.containers(all=True, filters={"volume": name})
        return [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in users]

    def prune_volumes(self, label_filters: list[str]) -> list[str]:
        """`docker volume prune` limited to volumes with these labels; the names removed."""
        pruned = prune_after_others(
            lambda: self.client.volumes.prune(filters={"label": label_filters})
        )
        return list(pruned.get("VolumesDeleted") or [])

    def container_events(
        self, label_filter: str, since_ns: int, actions: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """The engine's `actions` events of containers carrying `label_filter`, from `since_ns`
        until now (`docker events --since --until`: a finite read, whole seconds)."""
        until = time.time() + 1
        stream = self.client.api.events(
            since=since_ns // 1_000_000_000,
            until=int(until),
            filters={"type": "container", "label": label_filter, "event": list(actions)},
            decode=True,
        )
        try:
            return [event for event in stream if isinstance(event, dict)]
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                close()

    def hold_event_stream(self) -> CancellableStream[bytes] | None:
        """`GET /events` held open, for an event no engine sends while the harness runs (a
        daemon reload), so nothing flows: its end means the engine ended it (stopped,
        restarted or cut off). None when the engine answers but refuses such a stream (then it
        tells nothing); a connection error when it does not answer."""
        api = self.client.api
        filters = json.dumps({"type": ["daemon"], "event": ["reload"]})
        # No read timeout: the stream is quiet for as long as the engine lives.
        response = api.get(
            f"{api.base_url}/v{api.api_version}/events",
            params={"filters": filters},
            stream=True,
            timeout=None,
        )
        if response.status_code != 200:
            response.close()
            return None
        return CancellableStream(response.iter_content(chunk_size=None), response)

    def remove_volume(self, name: str) -> None:
        """Remove a volume if it is still there (a prune or a sweep may have been first)."""
        remove_quietly(lambda: self.client.volumes.get(name).remove(force=True))

    def write_files(
        self, volume: str, files: Mapping[str, str], image: str, labels: Mapping[str, str]
    ) -> None:
        """Put `files` (name -> text, readable by every user, writable by none) at the top of
        `volume`, through a container that is created and never started (`docker cp`)."""
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for name, text in files.items():
                data = text.encode()
                entry = tarfile.TarInfo(name)
                entry.size, entry.mode = len(data), 0o444
                tar.addfile(entry, io.BytesIO(data))
        api = self.client.api
        # Each VOLUME the image declares would become an anonymous volume filled with the
        # image's content (an initialised data directory: 1.3 s for PostgreSQL's 46 MB here);
        # an unmounted tmpfs over each costs nothing on a container that never starts.
        declared = self.image_attrs(image)["Config"].get("Volumes") or {}
        covers = [SdkMount(target=path, source=None, type="tmpfs") for path in declared]
        holder = api.create_container(
            image,
            entrypoint=["true"],
            labels=dict(labels),
            host_config=api.create_host_config(
                mounts=[SdkMount(target="/files", source=volume, type="volume"), *covers]
            ),
        )
        try:
            # Podman 4.3 fails a copy now and then under parallel load (500 "passing bulk input
            # to subprocess: write |1: broken pipe": 1 cell in 140 here); the next try works.
            retry(
                lambda: api.put_archive(holder["Id"], "/files", archive.getvalue()),
                COPY_RETRY,
                retry_on=(docker.errors.APIError,),
            )
        except RetryExhausted as exhausted:
            raise exhausted.last_error from None
        finally:
            # v=True: an image VOLUME gave the holder an anonymous volume too.
            remove_quietly(api.remove_container, holder["Id"], force=True, v=True)

    def volumes_labelled(self, label: str) -> list[str]:
        return [str(v.name) for v in self.client.volumes.list(filters={"label": label})]

    # Networks

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        return str(self.client.networks.create(name, labels=dict(labels)).name)

    def containers_labelled(self, label: str, *, running_only: bool = False) -> list[Container]:
        """Containers carrying `label` (`key` or `key=value`), stopped ones too unless asked."""
        # sparse: no inspect per container, so one removed meanwhile cannot raise NotFound
        # (the race `sweep` had); these objects know their id, which is all stop/remove need.
        found: list[Container] = self.client.containers.list(
            all=not running_only, filters={"label": label}, sparse=True
        )
        return found

    def remove_container(self, ref: str) -> None:
        """Force-remove a container with its anonymous volumes (an image VOLUME gives even a
        build step's container one)."""
        remove_quietly(self.client.api.remove_container, ref, force=True, v=True)

    # Containers the harness runs outside testcontainers: short helpers, never databases.

    def empty_as_root(self, directory: str, image: str, labels: Mapping[str, str]) -> None:
        """Empty a host directory a server filled as its own uid: a root helper container of
        `image` removes the files, so the host needs neither that user nor root for this."""
        helper = ContainerSpec(
            image=image, labels=labels, mounts=(Mount(MountKind.BIND, directory, "/cleanup"),)
        )
        self.run_helper(
            helper, entrypoint=["find", "/cleanup", "-mindepth", "1", "-delete"], user="0"
        )

    def run_helper(
        self, spec: ContainerSpec, *, entrypoint: list[str], user: str = ""
    ) -> tuple[int, str]:
        """Run a one-shot helper container to completion and remove it with its anonymous
        volumes; its exit code and output."""
        helper = self.client.containers.run(
            spec.image,
            entrypoint=entrypoint,
            command=list(spec.command or ()),
            user=user,
            labels=dict(spec.labels),
            mounts=sdk_mounts(spec),
            detach=True,
        )
        try:
            code = int(helper.wait(timeout=60).get("StatusCode", -1))
            return code, bytes(helper.logs()).decode(errors="replace")
        finally:
            # v=True: an image VOLUME gave the helper an anonymous volume too.
            remove_quietly(helper.remove, force=True, v=True)

    def run_detached(self, spec: ContainerSpec, **host_options: Any) -> Container:
        """A long-running helper service (not a database): the spec plus raw host options."""
        return self.client.containers.run(
            spec.image,
            command=list(spec.command or ()),
            name=spec.name,
            labels=dict(spec.labels),
            mounts=sdk_mounts(spec),
            detach=True,
            **host_options,
        )

    def copy_image_to(self, other: Engine, ref: str) -> None:
        """`docker save | docker load` into another engine (never a pull)."""
        if other.has_image(ref):
            return
        # docker-py streams the iterator of chunks; its stub only names bytes and files.
        other.client.images.load(self.client.images.get(ref).save(named=True))  # type: ignore[arg-type]

    def close(self) -> None:
        while self.on_close:
            self.on_close.pop()()
        self.client.close()


def sdk_mounts(spec: ContainerSpec) -> list[SdkMount]:
    """The spec's volumes and binds as the SDK's mount objects (the one place they are made)."""
    return [
        SdkMount(target=m.target, source=m.source, type=m.kind.value, read_only=m.read_only)
        for m in spec.mounts
    ]


@dataclass(frozen=True)
class Session:
    """One run of the harness; everything it creates carries these labels."""

    id: str
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    scope: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        labels = {SESSION_LABEL: self.id, OWNER_LABEL: self.owner}
        if self.scope:
            labels[SCOPE_LABEL] = self.scope_value
        return labels

    @property
    def scope_value(self) -> str:
        """The scope label's value names the session too, so one filter finds a scope."""
        return f"{self.id}/{self.scope}"

    @classmethod
    def new(cls) -> Session:
        return cls(id=os.urandom(4).hex())

    @property
    def label_filters(self) -> list[str]:
        """The engine filter that matches this session (or scope) and nothing else: one label,
        because Podman 4.3 lists and prunes volumes matching *any* of several label filters
        (Docker: all of them), which swept a whole run's volumes for one scenario's."""
        if self.scope:
            return [f"{SCOPE_LABEL}={self.scope_value}"]
        return [f"{SESSION_LABEL}={self.id}"]

    def scoped(self, scope: str) -> Session:
        """The same run, narrowed to one scenario: its resources can be swept alone."""
        return Session(id=self.id, owner=self.owner, scope=scope)


@dataclass
class SweepReport:
    containers: int = 0
    volumes: int = 0
    networks: int = 0
    images: int = 0  # built by grading from a submission's Dockerfile

    def __str__(self) -> str:
        images = f", {self.images} image(s)" if self.images else ""
        return (
            f"{self.containers} container(s), {self.volumes} volume(s), "
            f"{self.networks} network(s){images}"
        )


def owner_host(owner: str) -> str:
    return owner.rpartition(":")[0]


def owner_is_alive(owner: str, this_host: str | None = None) -> bool:
    """Whether the process named by an owner label still runs (on this host)."""
    host, _, pid = owner.rpartition(":")
    if host != (this_host or socket.gethostname()) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(
    engine: Engine,
    session: Session | None = None,
    *,
    spare_live: bool = True,
    spare_other_hosts: bool = False,
) -> SweepReport:
    """Remove labelled containers (with their anonymous volumes), volumes, networks and images.

    With a session, only that session's (or, for a scoped one, only that scope's); without,
    every session whose owner is not alive (or all of them when `spare_live` is false), except,
    with `spare_other_hosts`, those of other machines (whose liveness cannot be seen from here).
    """
    label = session.label_filters if session else [SESSION_LABEL]
    here = socket.gethostname()

    def doomed(labels: Mapping[str, str] | None) -> bool:
        if session or not spare_live:
            return True
        owner = (labels or {}).get(OWNER_LABEL, "")
        if spare_other_hosts and owner_host(owner) != here:
            return False
        return not owner_is_alive(owner)

    report = SweepReport()
    client = engine.client
    # The low-level listing: the SDK's `containers.list` inspects each container it lists, and
    # one removed in between by a concurrent run (its own teardown) would raise NotFound.
    for container in client.api.containers(all=True, filters={"label": label}):
        if doomed(container.get("Labels")):
            remove_quietly(client.api.remove_container, container["Id"], force=True, v=True)
            report.containers += 1
    for volume in client.volumes.list(filters={"label": label}):
        if doomed(volume.attrs.get("Labels")):
            remove_quietly(volume.remove, force=True)
            report.volumes += 1
    for network in client.networks.list(filters={"label": label}):
        if doomed(network.attrs.get("Labels")):
            remove_quietly(network.remove)
            report.networks += 1
    # Low-level here too: the SDK's `images.list` inspects each image, and one that another run
    # removed in between raised ImageNotFound out of a grading run's start (seen in CI).
    for image in client.api.images(filters={"label": label}):
        if doomed(image.get("Labels")):
            remove_quietly(client.api.remove_image, image["Id"], force=True)
            report.images += 1
    return report


class PruneBusy(Exception):
    """The engine is running another prune (409): this one waits its turn."""


# Docker runs one volume prune at a time and answers 409 "a prune operation is already running"
# to a second: another worker's cell, or another run on the same engine (seen once in 538 tests
# on four workers). A prune takes well under a second.
PRUNE_RETRY = Backoff(attempts=30, deadline_seconds=60.0, first_wait=0.1, max_wait=1.0)


def prune_after_others(
    prune: Callable[[], dict[str, Any]],
    backoff: Backoff = PRUNE_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run `prune`, waiting while the engine is busy with another prune."""

    def attempt() -> dict[str, Any]:
        try:
            return prune()
        except docker.errors.APIError as error:
            if error.status_code == 409:
                raise PruneBusy(str(error)) from error
            raise

    try:
        return retry(attempt, backoff, retry_on=(PruneBusy,), sleep=sleep)
    except RetryExhausted as exhausted:
        cause = exhausted.last_error.__cause__
        raise cause if cause else exhausted.last_error from None


def remove_quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    """Run a removal; something else removing it first (404) or a removal already in
    progress (409) is fine."""
    try:
        action(*args, **kwargs)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code != 409:
            raise
