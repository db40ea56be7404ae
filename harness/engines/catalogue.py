"""Engines under test beside the host's own: brought up from nothing, listed, taken down.

An engine that is up outlives the command that started it (so several runs can use it), and only
`engines down` removes it (a run's `clean` never does). A docker-in-docker engine's container and
volume carry `harness.engine=<name>` instead of a run's `harness.session`; Podman runs on the host
with everything it holds under one directory of `$HARNESS_ENGINES_DIR`. The host engine and its
images are never touched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.containers.engine import Engine
from harness.engines.dind import SecondEngine, connect_dind, load_images, start_dind, stop_dind
from harness.engines.podman import (
    PodmanHome,
    connect_podman,
    service_pid,
    start_podman,
    stop_podman,
)
from harness.engines.swarm import (
    DEFAULT_NODES,
    NodeState,
    SwarmCluster,
    SwarmNode,
    connect_node,
    node_engines,
    node_states,
    running_nodes,
    start_swarm,
    stop_swarm,
    swarm_formed,
    swarm_nodes,
)
from harness.errors import EngineUnavailable, ImageMissing, UsageError
from harness.images.build import Progress
from harness.images.recipes import DIND_DOCKER_26

ENGINE_LABEL = "harness.engine"
HOST = "host"
SWARM = "swarm"
ENGINES_DIR_ENV = "HARNESS_ENGINES_DIR"  # where engines that run on the host keep their state


def engines_root() -> Path:
    return Path(os.environ.get(ENGINES_DIR_ENV) or "/var/lib/harness-engines")


class EngineRunner(Protocol):
    """How one kind of engine is brought up, reached and taken down."""

    @property
    def docker_host(self) -> str: ...

    def is_up(self, host: Engine) -> bool: ...

    def start(self, host: Engine, progress: Progress) -> None: ...

    def connect(self, host: Engine) -> Engine: ...

    def stop(self, host: Engine) -> bool: ...

    def load(self, host: Engine, remote: Engine, refs: list[str], progress: Progress) -> None: ...


@dataclass(frozen=True)
class DindRunner:
    """A dockerd in a container of the host engine (docker-in-docker); its container and state
    volume carry `harness.engine=<name>` and the container's name."""

    name: str
    where: SecondEngine

    @property
    def docker_host(self) -> str:
        return self.where.docker_host

    @property
    def container_name(self) -> str:
        return f"harness-engine-{self.name}"

    @property
    def label(self) -> str:
        return f"{ENGINE_LABEL}={self.name}"

    def is_up(self, host: Engine) -> bool:
        return bool(host.containers_labelled(self.label, running_only=True))

    def start(self, host: Engine, progress: Progress) -> None:
        start_dind(host, self.where, self.container_name, {ENGINE_LABEL: self.name}, progress)

    def connect(self, host: Engine) -> Engine:
        running = host.containers_labelled(self.label, running_only=True)
        if not running:
            raise EngineUnavailable(
                f"Engine {self.name}'s container stopped as it started; see `docker logs "
                f"{self.container_name}`."
            )
        return connect_dind(self.where, running[0])

    def load(self, host: Engine, remote: Engine, refs: list[str], progress: Progress) -> None:
        load_images(host, remote, refs, self.name, progress)

    def stop(self, host: Engine) -> bool:
        found = False
        for service in host.containers_labelled(self.label):
            stop_dind(host, service, self.container_name)
            found = True
        for volume in host.volumes_labelled(self.label):
            host.remove_volume(volume)
            found = True
        return found


@dataclass(frozen=True)
class PodmanRunner:
    """Debian's Podman as a service on the host, everything under one directory of its own."""

    home: PodmanHome

    @property
    def docker_host(self) -> str:
        return self.home.docker_host

    def is_up(self, host: Engine) -> bool:
        return service_pid(self.home) is not None

    def start(self, host: Engine, progress: Progress) -> None:
        start_podman(self.home, progress)

    def connect(self, host: Engine) -> Engine:
        return connect_podman(self.home)

    def load(self, host: Engine, remote: Engine, refs: list[str], progress: Progress) -> None:
        load_images(host, remote, refs, "podman", progress)

    def stop(self, host: Engine) -> bool:
        return stop_podman(self.home)


@dataclass(frozen=True)
class SwarmRunner:
    """A Docker Swarm of docker-in-docker nodes (harness/engines/swarm.py), reached at its first
    manager. `nodes` None: however many are up (three when it starts)."""

    nodes: int | None = None

    @property
    def label(self) -> str:
        return f"{ENGINE_LABEL}={SWARM}"

    @property
    def members(self) -> list[SwarmNode]:
        return swarm_nodes(self.nodes or DEFAULT_NODES)

    @property
    def docker_host(self) -> str:
        return self.members[0].docker_host

    def is_up(self, host: Engine) -> bool:
        made = host.containers_labelled(self.label)
        running = running_nodes(host, self.label)
        if not made or len(running) != len(made):
            return False
        if self.nodes is not None and len(running) != self.nodes:
            return False
        # Node containers that run are not yet a swarm: an `up` killed before the join leaves
        # them so.
        return swarm_formed(swarm_nodes(len(running))[0], len(running))

    def start(self, host: Engine, progress: Progress) -> None:
        start_swarm(host, self.members, {ENGINE_LABEL: SWARM}, progress)

    def connect(self, host: Engine) -> Engine:
        return connect_node(self.members[0])

    def load(self, host: Engine, remote: Engine, refs: list[str], progress: Progress) -> None:
        # A task may run on any node: every node holds every image (none can pull here). The
        # nodes load at once, each its images in turn.
        count = len(running_nodes(host, self.label))
        with node_engines(swarm_nodes(count)) as engines, ThreadPoolExecutor(count) as pool:
            loads = [
                pool.submit(load_images, host, engine, refs, f"swarm {name}", progress)
                for name, engine in engines.items()
            ]
            for load in loads:
                load.result()

    def stop(self, host: Engine) -> bool:
        return stop_swarm(host, self.label)


@dataclass(frozen=True)
class EngineOffer:
    """An engine the harness can bring up on this machine."""

    name: str
    description: str
    runner: EngineRunner

    @property
    def docker_host(self) -> str:
        return self.runner.docker_host


OFFERS: Mapping[str, EngineOffer] = {
    offer.name: offer
    for offer in (
        EngineOffer(
            "docker-26",
            "Debian trixie's docker.io 26 in a container (docker-in-docker)",
            DindRunner(
                "docker-26",
                SecondEngine(
                    address="127.0.0.3",
                    bridge="harness-d26",
                    cidr="10.232.0.1/24",
                    image=DIND_DOCKER_26,
                ),
            ),
        ),
        EngineOffer(
            "podman",
            "Debian bookworm's Podman 4.3, serving the Docker API on a socket of its own",
            PodmanRunner(PodmanHome(engines_root() / "podman")),
        ),
        EngineOffer(
            SWARM,
            "a Docker Swarm of Debian trixie's docker.io 26 nodes (docker-in-docker, 3 by default)",
            SwarmRunner(),
        ),
    )
}


@dataclass(frozen=True)
class EngineState:
    name: str
    version: str
    api_version: str
    docker_host: str
    state: str  # "up", "down" (not started), "not answering"
    nodes: tuple[NodeState, ...] = ()  # a swarm's nodes, as its managers see them

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "api_version": self.api_version,
            "docker_host": self.docker_host,
            "state": self.state,
        }
        if self.nodes:
            shown["nodes"] = [node.to_dict() for node in self.nodes]
        return shown


def offer_named(name: str) -> EngineOffer:
    if name not in OFFERS:
        raise UsageError(
            f"{name!r} is not an engine the harness can bring up; use one of: {', '.join(OFFERS)}."
        )
    return OFFERS[name]


def engine_up(host: Engine, offer: EngineOffer, images: list[str], progress: Progress) -> Engine:
    """Bring `offer` up (or find it up) with `images` loaded; idempotent."""
    if not offer.runner.is_up(host):
        offer.runner.stop(host)  # a stopped or half-made one goes first
        offer.runner.start(host, progress)
    remote = offer.runner.connect(host)
    offer.runner.load(host, remote, images, progress)
    return remote


def engine_down(host: Engine, offer: EngineOffer) -> bool:
    """Remove the engine and everything it holds; whether there was anything to remove."""
    return offer.runner.stop(host)


def docker_host_of(name: str, shard_index: int | None = None) -> str:
    """Where the engine `name` answers. The swarm's nodes are engines too: under `--shard K/N`,
    `swarm` is its K-th node (round the nodes), so each shard of a matrix runs on a node of its
    own; without a shard, its first."""
    offer = offer_named(name)
    if not isinstance(offer.runner, SwarmRunner):
        return offer.docker_host
    host = Engine.connect()
    try:
        count = len(running_nodes(host, offer.runner.label)) or DEFAULT_NODES
    finally:
        host.close()
    nodes = swarm_nodes(count)
    return nodes[((shard_index or 1) - 1) % count].docker_host


@contextlib.contextmanager
def engine_environment(name: str, shard_index: int | None = None) -> Iterator[None]:
    """Point DOCKER_HOST at the engine while its scenarios run: testcontainers reads it from the
    environment, both to create containers and to say where their ports are reached."""
    if name == HOST:
        yield
        return
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = docker_host_of(name, shard_index)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def connect_engine(name: str, shard_index: int | None = None) -> Engine:
    """The host engine (`host`, from DOCKER_HOST or the default socket) or an engine that is up
    (the swarm: the node of the shard, `docker_host_of`)."""
    if name == HOST:
        return Engine.connect()
    docker_host = docker_host_of(name, shard_index)
    try:
        return Engine.connect({**os.environ, "DOCKER_HOST": docker_host})
    except EngineUnavailable:
        raise EngineUnavailable(
            f"Engine {name} does not answer at {docker_host}; run "
            f"`python -m harness engines up {name}` first."
        ) from None


def require_loaded(engine: Engine, name: str, refs: Iterable[str]) -> None:
    """An engine under test holds the images `engines up` loaded into it: the run's must be
    among them (the host's own images are `require_present`'s to check)."""
    missing = [ref for ref in refs if not engine.has_image(ref)]
    if missing:
        raise ImageMissing(
            f"Engine {name} lacks {', '.join(missing)}; run `python -m harness engines up "
            f"{name}`, which loads the images the run uses."
        )


def require_loaded_on_every_node(refs: Iterable[str]) -> None:
    """Every node of the swarm that is up holds the run's images (a task lands on any)."""
    host = Engine.connect()
    try:
        cluster = SwarmCluster.connect(host, f"{ENGINE_LABEL}={SWARM}")
        try:
            require_loaded_on_nodes(cluster, refs)
        finally:
            cluster.close()
    finally:
        host.close()


def require_loaded_on_nodes(cluster: SwarmCluster, refs: Iterable[str]) -> None:
    """Every node of a connected swarm holds the run's images."""
    wanted = list(refs)
    for engine in cluster.engines.values():
        require_loaded(engine, SWARM, wanted)


def engine_states(host: Engine) -> list[EngineState]:
    """The host engine and every engine the harness offers, up or not."""
    states = [
        EngineState(HOST, host.info.version, host.info.api_version, host.target, "up"),
    ]
    for offer in OFFERS.values():
        if not offer.runner.is_up(host):
            states.append(EngineState(offer.name, "", "", offer.docker_host, "down"))
            continue
        try:
            remote = connect_engine(offer.name)
        except EngineUnavailable:
            states.append(EngineState(offer.name, "", "", offer.docker_host, "not answering"))
            continue
        info = remote.info
        nodes = tuple(node_states(remote)) if isinstance(offer.runner, SwarmRunner) else ()
        remote.close()
        states.append(
            EngineState(offer.name, info.version, info.api_version, offer.docker_host, "up", nodes)
        )
    return states
