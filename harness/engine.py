"""The container engine connection: preflight, identity, labels, and sweeping what we created."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
from docker import DockerClient

from harness.errors import EngineUnavailable

SESSION_LABEL = "harness.session"
# Extends the contract: which process owns a session, so `clean` can spare live runs.
OWNER_LABEL = "harness.owner"
# Extends the contract: one scenario or test inside a run, so it can clean up only its own.
SCOPE_LABEL = "harness.scope"
IMAGE_LABEL = "harness.image"

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class EngineInfo:
    name: str
    version: str
    api_version: str

    def api_at_least(self, version: str) -> bool:
        return _version_tuple(self.api_version) >= _version_tuple(version)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def engine_target(environ: Mapping[str, str]) -> str:
    """Where the Docker SDK will look for an engine, for messages."""
    host = environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else f"the default socket {DEFAULT_SOCKET}"


def identify(version_payload: Mapping[str, Any]) -> EngineInfo:
    """Engine kind and versions from the `/version` answer (Docker or Podman)."""
    components = version_payload.get("Components") or []
    is_podman = any("podman" in str(c.get("Name", "")).lower() for c in components)
    return EngineInfo(
        name="podman" if is_podman else "docker",
        version=str(version_payload.get("Version", "unknown")),
        api_version=str(version_payload.get("ApiVersion", "unknown")),
    )


@dataclass
class Engine:
    """A connected engine. Create with `Engine.connect()`."""

    client: DockerClient
    info: EngineInfo
    target: str

    @classmethod
    def connect(cls, environ: Mapping[str, str] | None = None, timeout: int = 120) -> Engine:
        env = dict(os.environ if environ is None else environ)
        target = engine_target(env)
        try:
            client = docker.DockerClient.from_env(environment=env, timeout=timeout)
            payload = client.version()
        except Exception as error:  # the SDK raises many kinds; all mean "no engine here"
            raise EngineUnavailable(
                f"No container engine answers at {target}; run `make engine` "
                f"(or start Docker) and try again. ({type(error).__name__})"
            ) from None
        return cls(client=client, info=identify(payload), target=target)

    def has_image(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def remove_volume(self, name: str) -> None:
        """Remove a volume if it is still there (a prune or a sweep may have been first)."""
        remove_quietly(lambda: self.client.volumes.get(name).remove(force=True))

    def close(self) -> None:
        self.client.close()


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
            labels[SCOPE_LABEL] = self.scope
        return labels

    @classmethod
    def new(cls) -> Session:
        return cls(id=os.urandom(4).hex())

    @property
    def label_filters(self) -> list[str]:
        """Engine filters that match this session (and scope) and nothing else."""
        filters = [f"{SESSION_LABEL}={self.id}"]
        if self.scope:
            filters.append(f"{SCOPE_LABEL}={self.scope}")
        return filters

    def scoped(self, scope: str) -> Session:
        """The same run, narrowed to one scenario: its resources can be swept alone."""
        return Session(id=self.id, owner=self.owner, scope=scope)


@dataclass
class SweepReport:
    containers: int = 0
    volumes: int = 0
    networks: int = 0

    def __str__(self) -> str:
        return (
            f"{self.containers} container(s), {self.volumes} volume(s), {self.networks} network(s)"
        )


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
    engine: Engine, session: Session | None = None, *, spare_live: bool = True
) -> SweepReport:
    """Remove labelled containers (with their anonymous volumes), volumes and networks.

    With a session, only that session's (or, for a scoped one, only that scope's); without,
    every session whose owner is not alive (or all of them when `spare_live` is false).
    """
    label = session.label_filters if session else [SESSION_LABEL]

    def doomed(labels: Mapping[str, str] | None) -> bool:
        if session or not spare_live:
            return True
        return not owner_is_alive((labels or {}).get(OWNER_LABEL, ""))

    report = SweepReport()
    client = engine.client
    for container in client.containers.list(all=True, filters={"label": label}):
        if doomed(container.labels):
            remove_quietly(lambda c=container: c.remove(force=True, v=True))
            report.containers += 1
    for volume in client.volumes.list(filters={"label": label}):
        if doomed(volume.attrs.get("Labels")):
            remove_quietly(volume.remove, force=True)
            report.volumes += 1
    for network in client.networks.list(filters={"label": label}):
        if doomed(network.attrs.get("Labels")):
            remove_quietly(network.remove)
            report.networks += 1
    return report


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
