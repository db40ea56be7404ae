"""A Docker Swarm of docker-in-docker nodes on this machine: a cluster the harness can test.

Each node is a container of Debian trixie's dockerd 26 (the docker-26 engine's image) in a network
namespace of its own, on one bridge network of the host engine that the harness makes for the
swarm (`harness-swarm`, internal: the nodes reach each other and this machine, nothing else).
Every node listens on tcp://ADDRESS:2375 at a fixed address of that network, so the harness
reaches each node's engine, and a server a task runs with the node's own network, directly.

With three nodes or more the first three are managers: losing one (the `node-down` action) keeps
the managers' quorum, so the swarm goes on scheduling. Everything the swarm holds (node
containers, their state volumes, the network) carries `harness.engine=swarm`; `engines down
swarm` removes it by that label, whatever state an interrupted `engines up` left.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.models.containers import Container

from harness.containers.engine import Engine, remove_quietly, sdk_mounts
from harness.containers.retry import Backoff, RetryExhausted
from harness.containers.run_state import state_root
from harness.engines.dind import connect_when_answering
from harness.errors import EngineUnavailable, UsageError
from harness.images.build import Progress, ensure_images
from harness.images.recipes import DIND_DOCKER_26
from harness.model.spec import ContainerSpec, Mount, MountKind

NETWORK = "harness-swarm"
SUBNET = "10.233.0.0/24"
GATEWAY = "10.233.0.1"
# Overlay networks the swarm makes (its ingress, a stack's default network) come from here, so
# they never overlap the nodes' own network or the host's bridges.
ADDRESS_POOL = "10.234.0.0/16"
NODE_PORT = 2375
NODE_LABEL = "harness.swarm.node"  # which node a node container is
DEFAULT_NODES = 3
MAX_NODES = 9
QUORUM_MANAGERS = 3
NODE_START = Backoff(attempts=120, deadline_seconds=90.0, first_wait=0.2, max_wait=1.0)
NODE_STOP_SECONDS = 30
HEARTBEAT_NS = 1_000_000_000

# The node's dockerd: the unix socket for tools inside the node, TCP for the harness; iptables on
# (its own namespace, so the host's rules are untouched). Docker 25+ fails a container whose
# IPv6 it cannot disable unless told to warn instead (this kernel's sysctl is read-only here).
NODE_COMMAND = (
    "dockerd",
    "-H",
    "unix:///var/run/docker.sock",
    "-H",
    f"tcp://0.0.0.0:{NODE_PORT}",
    "--storage-driver",
    "overlay2",
)
NODE_ENV = {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1"}


@dataclass(frozen=True)
class SwarmNode:
    """One node of the swarm: `node1` is the first manager."""

    index: int
    managers: int

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def address(self) -> str:
        return f"10.233.0.{10 + self.index}"

    @property
    def docker_host(self) -> str:
        return f"tcp://{self.address}:{NODE_PORT}"

    @property
    def container_name(self) -> str:
        return f"harness-engine-swarm-{self.name}"

    @property
    def is_manager(self) -> bool:
        return self.index <= self.managers


def swarm_nodes(count: int) -> list[SwarmNode]:
    """The nodes of a swarm of `count`: three managers when there are three or more (one may go
    down and the rest keep quorum), else node1 alone manages."""
    if not 1 <= count <= MAX_NODES:
        raise UsageError(
            f"A swarm here has 1 to {MAX_NODES} nodes, not {count}; choose --nodes in that range."
        )
    managers = QUORUM_MANAGERS if count >= QUORUM_MANAGERS else 1
    return [SwarmNode(index, managers) for index in range(1, count + 1)]


def node_spec(node: SwarmNode, volume: str, labels: Mapping[str, str]) -> ContainerSpec:
    # A node is an engine of its own too (a shard of the `docker run` matrix runs on one): its
    # bind cells hand it a directory under the runs' state root, which it must see at the same
    # path, as the docker-26 engine does.
    runs = state_root()
    runs.mkdir(parents=True, exist_ok=True)
    return ContainerSpec(
        DIND_DOCKER_26.ref,
        command=NODE_COMMAND,
        env=NODE_ENV,
        mounts=(
            Mount(MountKind.VOLUME, volume, "/var/lib/docker"),
            Mount(MountKind.BIND, "/sys/fs/cgroup", "/sys/fs/cgroup"),
            Mount(MountKind.BIND, str(runs), str(runs)),
        ),
        tmpfs=("/run",),
        labels={**labels, NODE_LABEL: node.name},
        name=node.container_name,
    )


# The rights a dockerd needs inside a container on these machines (docs/engines.md):
# `--privileged` fails here (CAP_SYS_RESOURCE is withheld). No database gets these.
NODE_RIGHTS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "device_cgroup_rules": ["a *:* rwm"],
}


def _create_network(host: Engine, labels: Mapping[str, str]) -> None:
    pool = docker.types.IPAMPool(subnet=SUBNET, gateway=GATEWAY)
    host.client.networks.create(
        NETWORK,
        driver="bridge",
        internal=True,
        ipam=docker.types.IPAMConfig(pool_configs=[pool]),
        labels=dict(labels),
    )


def _start_node(host: Engine, node: SwarmNode, labels: Mapping[str, str]) -> Container:
    volume = host.create_volume(node.container_name, labels)
    spec = node_spec(node, volume, labels)
    endpoint = host.client.api.create_endpoint_config(ipv4_address=node.address)
    return host.client.containers.run(
        spec.image,
        entrypoint=list(spec.command or ()),
        name=spec.name,
        hostname=node.name,
        environment=dict(spec.env),
        labels=dict(spec.labels),
        mounts=sdk_mounts(spec),
        tmpfs=dict.fromkeys(spec.tmpfs, ""),
        network=NETWORK,
        networking_config={NETWORK: endpoint},
        detach=True,
        **NODE_RIGHTS,
    )


def connect_node(node: SwarmNode, container: Container | None = None) -> Engine:
    """A client of the node's engine once it answers."""
    try:
        return connect_when_answering(node.docker_host, NODE_START)
    except RetryExhausted:
        tail = ""
        if container is not None:
            tail = "; its log ends:\n" + bytes(container.logs(tail=20)).decode(errors="replace")
        raise EngineUnavailable(
            f"Swarm node {node.name} did not answer at {node.docker_host} within "
            f"{NODE_START.deadline_seconds:.0f} s; run `python -m harness engines down swarm` "
            f"and try again{tail}"
        ) from None


def start_swarm(
    host: Engine, nodes: list[SwarmNode], labels: Mapping[str, str], progress: Progress
) -> None:
    """Start every node, make node1 the swarm's first manager and join the others."""
    ensure_images(host, [DIND_DOCKER_26], progress)
    _create_network(host, labels)
    started = {}
    for node in nodes:
        progress(f"swarm: starting {node.name} at {node.docker_host}")
        started[node.name] = _start_node(host, node, labels)
    first, *others = nodes
    with contextlib.closing(connect_node(first, started[first.name])) as leader:
        progress(f"swarm: {first.name} initialises the swarm")
        leader.client.swarm.init(
            advertise_addr=first.address,
            listen_addr=f"{first.address}:2377",
            default_addr_pool=[ADDRESS_POOL],
            subnet_size=24,
            # A node that stops answering is marked down after a few missed heartbeats, and
            # only then are its tasks started elsewhere: 1 s instead of 5 s between heartbeats
            # makes the node-down action quicker, not different.
            dispatcher_heartbeat_period=HEARTBEAT_NS,
        )
        tokens = leader.client.swarm.attrs["JoinTokens"]
    for node in others:
        role = "manager" if node.is_manager else "worker"
        progress(f"swarm: {node.name} joins as a {role}")
        with contextlib.closing(connect_node(node, started[node.name])) as member:
            member.client.swarm.join(
                remote_addrs=[f"{first.address}:2377"],
                join_token=tokens["Manager" if node.is_manager else "Worker"],
                advertise_addr=node.address,
                listen_addr=f"{node.address}:2377",
            )


def running_nodes(host: Engine, label: str) -> list[str]:
    """The names of the swarm's nodes whose containers run (node1, node2, ...)."""
    running = host.containers_labelled(label, running_only=True)
    # A sparse listing's attrs are the list API's: `Labels` at the top level.
    names = [str(c.attrs.get("Labels", {}).get(NODE_LABEL, "")) for c in running]
    return sorted(name for name in names if name)


def stop_swarm(host: Engine, label: str) -> bool:
    """Remove every node container, its state volume and the swarm's network; whether anything
    was there. Nodes stop one at a time (SIGTERM: dockerd stops its tasks' containers)."""
    found = False
    for container in host.containers_labelled(label):
        with contextlib.suppress(docker.errors.APIError):
            container.stop(timeout=NODE_STOP_SECONDS)
        remove_quietly(container.remove, force=True, v=True)
        found = True
    for volume in host.volumes_labelled(label):
        host.remove_volume(volume)
        found = True
    for network in host.client.networks.list(filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
        found = True
    return found


def swarm_formed(first: SwarmNode, count: int) -> bool:
    """Whether `first` answers as a manager of a swarm of `count` nodes."""
    try:
        engine = Engine.connect({"DOCKER_HOST": first.docker_host}, timeout=10)
    except EngineUnavailable:
        return False
    try:
        swarm = engine.client.info().get("Swarm", {})
    finally:
        engine.close()
    return (
        swarm.get("LocalNodeState") == "active"
        and bool(swarm.get("ControlAvailable"))
        and swarm.get("Nodes") == count
    )


@dataclass(frozen=True)
class NodeState:
    """A node as the swarm's managers see it."""

    name: str
    address: str
    role: str  # "manager" or "worker"
    state: str  # "ready", "down", ...
    availability: str  # "active", "drain", "pause"
    leader: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "role": self.role,
            "state": self.state,
            "availability": self.availability,
            "leader": self.leader,
        }


def node_states(manager: Engine) -> list[NodeState]:
    """Every node the swarm knows, by name."""
    states = []
    for node in manager.client.nodes.list():
        attrs = node.attrs
        spec, status = attrs.get("Spec", {}), attrs.get("Status", {})
        states.append(
            NodeState(
                name=str(attrs.get("Description", {}).get("Hostname", "?")),
                address=str(status.get("Addr", "")),
                role=str(spec.get("Role", "?")),
                state=str(status.get("State", "?")),
                availability=str(spec.get("Availability", "?")),
                leader=bool(attrs.get("ManagerStatus", {}).get("Leader", False)),
            )
        )
    return sorted(states, key=lambda s: s.name)


@contextlib.contextmanager
def node_engines(nodes: list[SwarmNode]) -> Iterator[dict[str, Engine]]:
    """A connected client of every node, closed after."""
    engines: dict[str, Engine] = {}
    try:
        for node in nodes:
            engines[node.name] = connect_node(node)
        yield engines
    finally:
        for engine in engines.values():
            engine.close()


@dataclass
class SwarmCluster:
    """A swarm that is up, as a run uses it: a client of every node, the node containers on the
    host engine (to stop and start a node, to make a directory on it)."""

    host: Engine
    nodes: list[SwarmNode]
    engines: dict[str, Engine]
    down: set[str] = field(default_factory=set)  # nodes a cell stopped (no one asks them)

    @classmethod
    def connect(cls, host: Engine, label: str) -> SwarmCluster:
        names = running_nodes(host, label)
        if not names:
            raise EngineUnavailable(
                "No swarm is up; run `python -m harness engines up swarm` first."
            )
        nodes = swarm_nodes(len(names))
        return cls(host, nodes, {node.name: connect_node(node) for node in nodes})

    def node(self, name: str) -> SwarmNode:
        return next(node for node in self.nodes if node.name == name)

    def engine(self, name: str) -> Engine:
        return self.engines[name]

    def manager(self, avoiding: str = "") -> Engine:
        """A manager's client, not `avoiding`'s (a node the cell is about to take down)."""
        for node in self.nodes:
            if node.is_manager and node.name != avoiding and node.name not in self.down:
                return self.engines[node.name]
        raise EngineUnavailable(
            f"The swarm has no manager besides {avoiding}; bring it up with three nodes or more "
            "(`python -m harness engines up swarm --nodes 3`)."
        )

    def node_id(self, name: str) -> str:
        """A node's swarm id from its hostname (node1, ...)."""
        for node in self.manager().client.nodes.list():
            if node.attrs["Description"]["Hostname"] == name:
                return str(node.id)
        raise EngineUnavailable(f"The swarm has no node {name}; run `engines up swarm` again.")

    def node_name(self, node_id: str) -> str:
        """A node's hostname (node1, ...) from its swarm id."""
        attrs = self.manager().client.nodes.get(node_id).attrs
        return str(attrs["Description"]["Hostname"])

    def run_on_node(self, name: str, command: list[str]) -> None:
        """A command in the node's own container (as root: its filesystem is the node's)."""
        container = self.host.client.containers.get(self.node(name).container_name)
        code, output = container.exec_run(command)
        if code != 0:
            shown = output.decode(errors="replace").strip() if isinstance(output, bytes) else ""
            raise EngineUnavailable(f"`{' '.join(command)}` failed on {name}: {shown}")

    def stop_node(self, name: str) -> None:
        """The node's engine stopped (its container stopped, its state kept)."""
        self.down.add(name)
        self.engines[name].close()
        self.host.client.containers.get(self.node(name).container_name).stop(timeout=10)

    def start_node(self, name: str) -> None:
        """The node's engine started again and reconnected."""
        node = self.node(name)
        self.host.client.containers.get(node.container_name).start()
        self.engines[name] = connect_node(node)
        self.down.discard(name)

    def answering(self) -> dict[str, Engine]:
        """The clients of the nodes that are not down."""
        return {name: e for name, e in self.engines.items() if name not in self.down}

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
