"""A database as a swarm service: its configuration, made through the API or as a stack, its
running task found on whichever node it runs, and everything of it removed afterwards.

The service uses the node's own network (`--network host`) on a port of its own, so the harness
reaches the server at the node's address whichever node the task runs on, and cells on one node
never compete for a port. Passwords are swarm secrets, read by the image's entrypoint through
`<VARIABLE>_FILE` (the official images' contract), never environment variables.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import yaml
from docker.types import Mount, SecretReference

from harness.containers.engine import (
    OWNER_LABEL,
    SCOPE_LABEL,
    SESSION_LABEL,
    Engine,
    SweepReport,
    owner_is_alive,
    sweep,
)
from harness.engines.swarm import SwarmCluster
from harness.errors import EngineUnavailable, HarnessError, NotRunning
from harness.model.platforms.swarm_check import StackService
from harness.model.spec import MountKind

SECRETS_TARGET = "/run/secrets"
TASK_DEADLINE = 180.0  # seconds for a new task to run (a node going down takes ~30 s to notice)
GONE_DEADLINE = 90.0
POLL_SECONDS = 0.5
STACK_SERVICE = "db"
STACK_VOLUME = "data"
# The server's own option for its port, appended to the image's command. (Not PGPORT: an
# entrypoint's temporary server may listen on 5432 while its psql, reading PGPORT, looks
# elsewhere; measured with the local image.)
PORT_ARGS: dict[str, Callable[[int], tuple[str, ...]]] = {
    # MySQL's X Protocol listens on 33060 too: on a node's own network two servers would fight
    # for it (the rows go over the classic protocol, on the cell's port).
    "mysql": lambda port: (f"--port={port}", "--mysqlx=OFF"),
    "mariadb": lambda port: (f"--port={port}",),
    "postgres": lambda port: ("-c", f"port={port}"),
}


# The SDK's swarm calls carry no types: one typed door each.
def service_of(engine: Engine, ident: str) -> Any:
    return engine.client.services.get(ident)  # type: ignore[no-untyped-call]


def tasks_of(engine: Engine, service_name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = engine.client.api.tasks(  # type: ignore[no-untyped-call]
        filters={"service": service_name}
    )
    return found


def tasks_unless_busy(
    engine: Engine, service_name: str | None = None
) -> tuple[list[dict[str, Any]] | None, str]:
    """A manager's task list (of one service, if named), or None and what it said while the
    managers answer 5xx: they do while they elect a leader (after node-down took the leader's
    node, a task list answered "rpc error: code = DeadlineExceeded", seen in CI's swarm subset),
    so the list is not known yet and a wait asks again within its deadline. A 4xx raises."""
    try:
        if service_name is None:
            every: list[dict[str, Any]] = engine.client.api.tasks()  # type: ignore[no-untyped-call]
            return every, ""
        return tasks_of(engine, service_name), ""
    except docker.errors.APIError as error:
        if not error.is_server_error():
            raise
        return None, str(error.explanation or error)


def passwords_as_secrets(
    env: Mapping[str, str], variables: Iterable[str], prefix: str
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The environment with each password variable in it replaced by `<VARIABLE>_FILE`, naming
    a swarm secret (never a password in the service's spec, which `docker service inspect`
    shows); the secrets' contents and names (`prefix` + file name), by file name."""
    env = dict(env)
    files: dict[str, str] = {}
    names: dict[str, str] = {}
    for variable in variables:
        if variable in env:
            filename = variable.lower()
            files[filename] = env.pop(variable)
            names[filename] = f"{prefix}{filename}"
            env[f"{variable}_FILE"] = f"{SECRETS_TARGET}/{filename}"
    return env, files, names


@dataclass(frozen=True)
class DataMount:
    """The service's mount of the data directory (`--mount type=...`)."""

    kind: MountKind
    target: str
    source: str = ""  # the volume's name (in a stack: the stack's own key), or the node's path


@dataclass(frozen=True)
class ServiceConfig:
    """One database service, as `docker service create` or a stack file declares it."""

    name: str
    image: str
    port: int  # where the server listens, on the node's own network
    env: Mapping[str, str]
    args: tuple[str, ...]  # the image's CMD with the storage's and the port's options
    mount: DataMount | None
    secrets: Mapping[str, str]  # file name under /run/secrets -> the swarm secret's name
    constraint: str
    labels: Mapping[str, str]
    # A user's service (compose-check --on swarm): the stack keeps its keys and volumes under
    # its own name; `mount` is then None.
    user: StackService | None = None
    service_key: str = STACK_SERVICE

    def create(self, manager: Engine, secret_ids: Mapping[str, str]) -> str:
        """`docker service create`; the service's id."""
        mounts = []
        if self.mount is not None:
            mounts.append(
                Mount(
                    self.mount.target,
                    self.mount.source or None,
                    type=self.mount.kind,  # type: ignore[arg-type]
                    labels=dict(self.labels) if self.mount.kind is MountKind.VOLUME else None,
                )
            )
        service = manager.client.services.create(  # type: ignore[no-untyped-call]
            self.image,
            name=self.name,
            args=list(self.args),
            env=[f"{key}={value}" for key, value in self.env.items()],
            mounts=mounts,
            secrets=[
                SecretReference(secret_ids[name], name, filename=filename)
                for filename, name in self.secrets.items()
            ],
            networks=["host"],
            constraints=[self.constraint],
            labels=dict(self.labels),
            container_labels=dict(self.labels),
        )
        return str(service.id)

    def stack_file(self) -> dict[str, Any]:
        """The same service as a stack file (`docker stack deploy`); a volume is the stack's
        own, which the stack prefixes with its name."""
        service: dict[str, Any] = {
            **(self.user.service if self.user else {}),
            "image": self.image,
            "environment": dict(self.env),
            "secrets": [{"source": n, "target": f} for f, n in self.secrets.items()],
            "networks": ["hostnet"],
            "labels": dict(self.labels),
            "deploy": {
                "labels": dict(self.labels),
                "placement": {"constraints": [self.constraint]},
            },
        }
        service["command"] = list(self.args)
        stack: dict[str, Any] = {
            "version": "3.8",
            "services": {self.service_key: service},
            "secrets": {name: {"external": True} for name in self.secrets.values()},
            "networks": {"hostnet": {"external": True, "name": "host"}},
        }
        if self.user is not None:
            if self.user.volumes:
                service["volumes"] = list(self.user.volumes)
            if self.user.top_volumes:
                stack["volumes"] = dict(self.user.top_volumes)
        elif self.mount is not None:
            volume: dict[str, Any] = {"type": str(self.mount.kind), "target": self.mount.target}
            if self.mount.kind is MountKind.VOLUME:
                volume["source"] = STACK_VOLUME
                stack["volumes"] = {STACK_VOLUME: {"labels": dict(self.labels)}}
            elif self.mount.source:
                volume["source"] = self.mount.source
            service["volumes"] = [volume]
        return stack


@dataclass(frozen=True)
class Task:
    """A running task: which node, which container."""

    id: str
    node: str
    container_id: str


@dataclass
class SwarmTask:
    """A task's server as readiness sees it (`RunningServer`): reached at its node's address on
    the service's own port."""

    cluster: SwarmCluster
    task: Task
    port: int

    @property
    def name(self) -> str:
        return f"task {self.task.id[:12]} on {self.task.node}"

    def _container(self) -> Any:
        return self.cluster.engine(self.task.node).client.containers.get(self.task.container_id)

    def endpoint(self, port: int, *, fresh: bool = True) -> tuple[str, int]:
        return self.cluster.node(self.task.node).address, self.port

    def state(self) -> Mapping[str, Any]:
        try:
            state: Mapping[str, Any] = self._container().attrs["State"]
        except docker.errors.NotFound:
            return {"Status": "removed"}
        return state

    def logs(self, tail: int) -> str:
        try:
            return bytes(self._container().logs(tail=tail)).decode(errors="replace")
        except docker.errors.NotFound:
            return "(the task's container is gone)"

    def attrs(self) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self._container().attrs
        return found


@dataclass
class DeployedService:
    """A service on the swarm and what the harness made for it, removed by `remove`."""

    cluster: SwarmCluster
    config: ServiceConfig
    stack: str | None  # deployed as this stack (the stack-redeploy action), else None
    scratch: Path
    secret_ids: dict[str, str] = field(default_factory=dict)
    service_id: str = ""
    seen_tasks: set[str] = field(default_factory=set)
    seen_volumes: dict[str, set[str]] = field(default_factory=dict)  # node -> volume names
    bind_path: str = ""

    @property
    def service_name(self) -> str:
        return f"{self.stack}_{self.config.service_key}" if self.stack else self.config.name

    def deploy(self) -> None:
        if self.stack is None:
            self.service_id = self.config.create(self.cluster.manager(), self.secret_ids)
            return
        stack_file = self.scratch / "stack.yaml"
        stack_file.write_text(yaml.safe_dump(self.config.stack_file(), sort_keys=False))
        self._stack_command("deploy", "--resolve-image", "never", "--compose-file",
                            str(stack_file), self.stack)  # fmt: skip
        self.service_id = str(service_of(self.cluster.manager(), self.service_name).id)

    def remove_stack(self) -> None:
        """`docker stack rm`, and wait until its service and containers are gone (the removal
        is asynchronous: a deploy at once would meet the old ones)."""
        assert self.stack is not None
        self._stack_command("rm", self.stack)
        self._wait_gone()

    def _stack_command(self, *args: str) -> None:
        binary = shutil.which("docker")
        if binary is None:
            raise HarnessError(
                "The stack actions need the docker CLI, which is missing; run `make engine` "
                "(it installs Debian's docker.io)."
            )
        manager = self.cluster.manager()
        env = {**os.environ, "DOCKER_HOST": manager.docker_host or ""}
        done = subprocess.run(
            [binary, "stack", *args], env=env, capture_output=True, text=True, check=False,
            timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise HarnessError(f"`docker stack {args[0]}` failed: {last}")

    def service(self, manager: Engine | None = None) -> Any:
        return service_of(manager or self.cluster.manager(), self.service_id)

    def running_task(self, avoiding: str = "") -> Task:
        """The service's running task that the harness has not seen yet (a new one after an
        action), once it runs; asked of a manager other than `avoiding`."""
        manager = self.cluster.manager(avoiding)
        deadline = time.monotonic() + TASK_DEADLINE
        last_error = ""
        while time.monotonic() < deadline:
            found, said = self._new_running_task(manager)
            if found is not None:
                return found
            last_error = said or last_error
            time.sleep(POLL_SECONDS)
        said = f" (the swarm said: {last_error})" if last_error else ""
        raise NotRunning(
            f"Service {self.service_name} had no new running task within {TASK_DEADLINE:.0f} s"
            f"{said}."
        )

    def _new_running_task(self, manager: Engine) -> tuple[Task | None, str]:
        """One look at the service's tasks: a running one not seen yet, and the last error a
        task reported, or the managers' answer while they are busy (empty if none)."""
        tasks, busy = tasks_unless_busy(manager, self.service_name)
        if tasks is None:
            return None, busy
        last_error = ""
        for task in tasks:
            status = task.get("Status", {})
            if task["ID"] in self.seen_tasks:
                continue
            if status.get("State") == "running" and task.get("DesiredState") == "running":
                found = Task(
                    task["ID"],
                    self.cluster.node_name(task["NodeID"]),
                    str(status["ContainerStatus"]["ContainerID"]),
                )
                self.seen_tasks.add(task["ID"])
                self._record_volumes(found)
                return found, last_error
            if status.get("Err"):
                last_error = str(status["Err"])
        return None, last_error

    def _remove_volumes(self) -> None:
        """The service's volumes on every node: the labelled ones and the anonymous ones its
        tasks had. A volume stays "in use" for a moment after its container is gone (seen
        here): the removal is tried again until none is left."""
        scope = f"{SCOPE_LABEL}={self.config.labels.get(SCOPE_LABEL, '')}"
        deadline = time.monotonic() + GONE_DEADLINE
        while True:
            left = []
            for node, engine in self.cluster.answering().items():
                for volume in sorted(
                    set(engine.volumes_labelled(scope)) | self.seen_volumes.get(node, set())
                ):
                    engine.remove_volume(volume)
                    if engine.volume_exists(volume):
                        left.append(f"{volume} on {node}")
            if not left:
                return
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"Volumes {', '.join(left)} could not be removed within "
                    f"{GONE_DEADLINE:.0f} s; `python -m harness engines down swarm` removes them."
                )
            time.sleep(POLL_SECONDS)

    def wait_no_task(self) -> None:
        """Until no task of the service runs (after a scale to zero)."""
        deadline = time.monotonic() + GONE_DEADLINE
        manager = self.cluster.manager()
        while time.monotonic() < deadline:
            tasks, _busy = tasks_unless_busy(manager, self.service_name)
            if tasks is not None and not [
                t for t in tasks if t.get("Status", {}).get("State") == "running"
            ]:
                return
            time.sleep(POLL_SECONDS)
        raise NotRunning(
            f"Service {self.service_name} still ran a task {GONE_DEADLINE:.0f} s after its "
            "scale to zero."
        )

    def _record_volumes(self, task: Task) -> None:
        """The task container's volumes, so that `remove` finds the anonymous ones (no label
        reaches them)."""
        with contextlib.suppress(docker.errors.NotFound):
            container = self.cluster.engine(task.node).client.containers.get(task.container_id)
            names = {m.get("Name") for m in container.attrs.get("Mounts") or []}
            self.seen_volumes.setdefault(task.node, set()).update(n for n in names if n)

    def _containers_left(self, *, remove: bool) -> int:
        """How many containers of the service the nodes that answer hold (each one's volumes
        recorded for `_remove_volumes`); with `remove`, each removed at once."""
        label = f"com.docker.swarm.service.name={self.service_name}"
        left = 0
        for name, engine in self.cluster.answering().items():
            try:
                found = engine.client.api.containers(all=True, filters={"label": label})
            except (docker.errors.APIError, OSError):  # requests' errors are OSErrors
                continue  # a node that went away holds nothing now
            left += len(found)
            for container in found:
                self._record_volumes(Task("", name, str(container["Id"])))
                if remove:
                    # The swarm's agent would stop it with the grace period, in its own time
                    # (7 s a cell here); a removal it meets is the next round's.
                    with contextlib.suppress(docker.errors.APIError, OSError):
                        engine.remove_container(str(container["Id"]))
        return left

    def _wait_gone(self, *, remove: bool = False) -> None:
        """Until no container of the service is left on any node that answers, and the swarm
        holds no task of it there: a task still starting makes its container (and its volume)
        later. With `remove`, each container found is removed at once; else the swarm's agents
        stop them as the swarm does (`docker stack rm`)."""
        deadline = time.monotonic() + GONE_DEADLINE
        while time.monotonic() < deadline:
            tasks_pending = _tasks_may_still_appear(self.cluster, {self.service_id} - {""})
            if not self._containers_left(remove=remove) and not tasks_pending:
                return
            time.sleep(POLL_SECONDS)
        raise EngineUnavailable(
            f"The containers or tasks of service {self.service_name} were still there "
            f"{GONE_DEADLINE:.0f} s after its removal."
        )

    def remove(self) -> None:
        """The service (or stack), its containers, volumes, secrets and the node directory."""
        if self.stack is not None:
            with contextlib.suppress(HarnessError):
                self._stack_command("rm", self.stack)
        else:
            with contextlib.suppress(docker.errors.NotFound):
                service_of(self.cluster.manager(), self.service_id).remove()
        self._wait_gone(remove=True)
        self._remove_volumes()
        for node in self.cluster.answering():
            if self.bind_path:
                self.cluster.run_on_node(node, ["rm", "-rf", self.bind_path])
        manager = self.cluster.manager()
        for name in self.secret_ids:
            with contextlib.suppress(docker.errors.NotFound):
                manager.client.secrets.get(name).remove()


@contextlib.contextmanager
def deployed(
    cluster: SwarmCluster,
    config: ServiceConfig,
    passwords: Mapping[str, str],
    *,
    stack: str | None,
    bind_path: str,
    scratch: Path,
) -> Iterator[DeployedService]:
    """The service deployed (secrets first, the bind's directory made on every node); all of
    it removed after, whatever happened."""
    deployment = DeployedService(cluster, config, stack, scratch, bind_path=bind_path)
    try:
        manager = cluster.manager()
        for filename, name in config.secrets.items():
            secret = manager.client.secrets.create(
                name=name, data=passwords[filename].encode(), labels=dict(config.labels)
            )
            deployment.secret_ids[name] = str(secret.id)
        if bind_path:
            # The path must exist on whichever node the task lands on.
            for node in cluster.nodes:
                cluster.run_on_node(node.name, ["mkdir", "-p", bind_path])
        deployment.deploy()
        yield deployment
    finally:
        deployment.remove()


# A task's states before its container surely exists: the node makes the container while the
# task is `preparing` and starts it while `starting`. From `running` on, the container exists
# (the nodes' listings show it) or is gone, so only these can still make one appear.
TASK_STATES_BEFORE_CONTAINER = frozenset(
    {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
)


def tasks_still_held(
    tasks: Iterable[Mapping[str, Any]], service_ids: set[str], node_ids: set[str]
) -> list[Mapping[str, Any]]:
    """Of a swarm's task list, the tasks of `service_ids` whose container may still appear: not
    yet running, on a node in `node_ids` or on none yet. The swarm forgets a removed service's
    task only once its node has shut it down (the stop grace period, ~10 s a cell here); a
    running task's container is already there to be removed, so it is not waited for. A node
    that is down starts nothing, and would hold its tasks until it came back."""
    return [
        task
        for task in tasks
        if task.get("ServiceID") in service_ids
        and (not task.get("NodeID") or task.get("NodeID") in node_ids)
        and task.get("Status", {}).get("State") in TASK_STATES_BEFORE_CONTAINER
    ]


def _tasks_may_still_appear(cluster: SwarmCluster, service_ids: set[str]) -> bool:
    """Whether a removed service's task may still make a container on a node that answers
    (`tasks_still_held`), or the managers are too busy to say. Every task is listed: a filter
    by service answers 404 once the service is removed, seen here; the wait then ended at once
    and a task's container appeared after the sweep. A manager that does not answer at all
    holds nothing up: the nodes are swept as they are."""
    if not service_ids:
        return False
    try:
        manager = cluster.manager()
        tasks, _busy = tasks_unless_busy(manager)
        if tasks is None:
            return True
        answering = set(cluster.answering())
        node_ids = {
            str(node.id)
            for node in manager.client.nodes.list()
            if node.attrs.get("Description", {}).get("Hostname") in answering
        }
    except (docker.errors.APIError, EngineUnavailable, OSError):
        return False
    return bool(tasks_still_held(tasks, service_ids, node_ids))


def sweep_swarm(cluster: SwarmCluster, *, spare_live: bool = True) -> tuple[int, SweepReport]:
    """What dead runs left on the swarm: their services and secrets (a manager holds those),
    then each node's labelled containers and volumes, as `sweep` does on one engine; how many
    services, and what else."""

    def doomed(labels: Mapping[str, str] | None) -> bool:
        return not spare_live or not owner_is_alive((labels or {}).get(OWNER_LABEL, ""))

    manager = cluster.manager()
    removed: list[str] = []
    for service in manager.client.services.list(filters={"label": SESSION_LABEL}):
        if doomed(service.attrs.get("Spec", {}).get("Labels")):
            with contextlib.suppress(docker.errors.NotFound):
                service.remove()  # type: ignore[no-untyped-call]
            removed.append(str(service.id))
    # A removed service's task may still be starting on its node, its container made after a
    # sweep (seen here). The swarm forgets a task once its node has shut it down, so the nodes
    # are swept until a sweep finds nothing that began when no such task was left.
    deadline = time.monotonic() + GONE_DEADLINE
    report = SweepReport()
    while True:
        tasks_pending = _tasks_may_still_appear(cluster, set(removed))
        found = 0
        for engine in cluster.answering().values():
            node = sweep(engine, spare_live=spare_live)
            report.containers += node.containers
            report.volumes += node.volumes
            report.networks += node.networks
            found += node.containers + node.volumes + node.networks
        if (not found and not tasks_pending) or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    for secret in manager.client.secrets.list(filters={"label": SESSION_LABEL}):
        if doomed(secret.attrs.get("Spec", {}).get("Labels")):
            with contextlib.suppress(docker.errors.APIError):  # still in use: the next clean
                secret.remove()
    return len(removed), report
