"""One swarm-matrix cell: a database service, the Persons rows written through its task, a swarm
action, the rows read through the new task, and the verdict by where the two tasks ran.

The rows are written on one node and read on another or the same; the result records both
(`nodes`). Where the action needs a fixed node the service is pinned to it (a placement
constraint); for a drain or a node going down the task goes where the scheduler sends it and the
promise is read from where it went. A node the cell drained or stopped is put back afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass

from harness.containers.engine import Session
from harness.containers.managed import observed_mounts
from harness.containers.readiness import wait_until_ready
from harness.containers.run_state import RunState, state_root
from harness.engines.swarm import SwarmCluster, node_states
from harness.engines.swarm_service import (
    PORT_ARGS,
    DataMount,
    DeployedService,
    ServiceConfig,
    SwarmTask,
    Task,
    deployed,
    passwords_as_secrets,
)
from harness.errors import EngineUnavailable, HarnessError, UsageError, described
from harness.model.cells import Cell, ScenarioResult
from harness.model.faults import CellSteps
from harness.model.holders import Holder, misplaced, mount_holding
from harness.model.outcomes import Outcome, Promise
from harness.model.placement import ImageFacts, place
from harness.model.platforms.swarm import (
    SWARM_ACTIONS,
    SWARM_STORAGE,
    TaskPlacement,
    planned_read_node,
    swarm_promise,
)
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.persons import PERSONS_ROWS, Observation, observe, write_persons
from harness.model.spec import MountKind
from harness.persistence.fault_causes import failure_cause, judged_cell

BIND_ROOT = "/srv/harness"  # on the node: a bind's source directory
NODE_BACK_DEADLINE = 120.0


@dataclass(frozen=True)
class SwarmCellPlan:
    """Where a cell writes, and where its action sends the task."""

    written_on: str  # pinned first node ("" when the scheduler chooses)
    other: str  # the node a move goes to


def plan_nodes(cell: Cell, index: int, nodes: list[str]) -> SwarmCellPlan:
    """Cells are spread over the nodes by their index; a move goes to the next node."""
    action = SWARM_ACTIONS[cell.action]
    if action.placement is TaskPlacement.WHERE_IT_LANDS:
        return SwarmCellPlan("", "")
    if action.placement is TaskPlacement.OTHER_NODE and len(nodes) < 2:
        raise UsageError(f"{cell.id} moves the task to another node; the swarm has one node.")
    first = nodes[index % len(nodes)]
    return SwarmCellPlan(first, nodes[(index + 1) % len(nodes)])


Judge = Callable[[str, str], Promise]  # (node written on, node read on) -> the promise
ServiceFor = Callable[[SwarmCellPlan], AbstractContextManager[DeployedService]]


def run_swarm_cell(  # noqa: PLR0917 - a cell, where, on what, as whom
    cluster: SwarmCluster,
    session: Session,
    cell: Cell,
    image: str,
    index: int,
    creds: Credentials | None = None,
) -> ScenarioResult:
    """Run one swarm cell; every failure becomes a result without a verdict, with its cause."""
    creds = creds or Credentials.random()
    scope = session.scoped(cell.id)

    def judge(written_on: str, read_on: str) -> Promise:
        return swarm_promise(cell.storage, cell.action, written_on, read_on)

    def service_for(plan: SwarmCellPlan) -> AbstractContextManager[DeployedService]:
        return _service(cluster, scope, cell, image, index, creds, plan)

    return run_on_swarm(cluster, scope, cell, index, creds, judge, service_for)


def run_on_swarm(  # noqa: PLR0917 - a cell, where, as whom, judged how, deployed how
    cluster: SwarmCluster,
    scope: Session,
    cell: Cell,
    index: int,
    creds: Credentials,
    judge: Judge,
    service_for: ServiceFor,
) -> ScenarioResult:
    """A service deployed, its rows written, `cell.action` applied and the rows read back,
    judged by `judge` at the nodes the tasks ran on; a failure: no verdict, with its cause."""
    steps = CellSteps()
    # Until the task has run, the promise is the planned one: the pinned nodes, or for a drain
    # or a node going down "another node" (the task leaves the node that holds the rows). The
    # verdict is judged against the nodes the tasks really ran on.
    result = ScenarioResult(cell, Outcome.LOST, "")

    def cause(seen: str) -> str:
        return _cause(cluster, scope, steps, seen)

    with judged_cell(result, creds.secrets, cause):
        plan = plan_nodes(cell, index, [node.name for node in cluster.nodes])
        planned = planned_read_node(cell.action, plan.written_on, plan.other)
        _expect(result, judge, plan.written_on or "its node", planned or "another node")
        with node_lock(cell.action), service_for(plan) as service:
            _exercise(cluster, service, cell, creds, result, plan, steps, judge)
    return result


@contextlib.contextmanager
def node_lock(action: str) -> Iterator[None]:
    """A drain or a node going down moves every task of that node, so such an action runs
    alone on the swarm; the others share it (across processes too: pytest-xdist's workers, a
    compose-check beside a matrix run, through a lock file of the machine's runs)."""
    path = state_root() / "swarm.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if SWARM_ACTIONS[action].whole_node else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cause(cluster: SwarmCluster, scope: Session, steps: CellSteps, seen: str) -> str:
    """The cause of a cell without a verdict, asked of a manager that answers (none left: what
    the cell saw)."""
    try:
        manager = cluster.manager()
    except HarnessError:
        return seen
    return failure_cause(manager, scope, steps, seen)


def _expect(result: ScenarioResult, judge: Judge, written_on: str, read_on: str) -> None:
    promise = judge(written_on, read_on)
    result.expected, result.reason = promise.outcome, promise.reason


def _config(  # noqa: PLR0917 - what a service is made of
    cluster: SwarmCluster,
    scope: Session,
    cell: Cell,
    image: str,
    port: int,
    creds: Credentials,
    constraint: str,
) -> tuple[ServiceConfig, dict[str, str], str]:
    """The service's configuration, its password files (by file name), and the bind's path."""
    profile = DATABASES[cell.database]
    storage = SWARM_STORAGE[cell.storage]
    attrs = cluster.manager().image_attrs(image)
    facts = ImageFacts.from_config(image, attrs["Config"])
    placement = place(profile, facts, in_layer=storage.in_layer)
    env = {**profile.init_env(creds), **placement.env}
    args = (*(placement.command or facts.cmd), *PORT_ARGS[cell.database](port))
    suffix = secrets.token_hex(3)
    env, files, names = passwords_as_secrets(
        env, profile.password_variables, f"harness-{scope.id}-{suffix}-"
    )
    bind_path = ""
    mount = None
    if storage.holder is Holder.NAMED_VOLUME:
        volume = f"harness-{scope.id}-{suffix}-data"
        mount = DataMount(MountKind.VOLUME, placement.mount_target, volume)
    elif storage.holder is Holder.BIND:
        bind_path = f"{BIND_ROOT}/{scope.id}/{cell.id}"
        mount = DataMount(MountKind.BIND, placement.mount_target, bind_path)
    elif storage.holder is Holder.TMPFS:
        mount = DataMount(MountKind.TMPFS, placement.mount_target)
    config = ServiceConfig(
        name=f"harness-{scope.id}-{suffix}",
        # By id: a node pulls a tag before every task, falling back to its own copy only when
        # the registry fails, which took 20 s a task here (no registry answers); an id it never
        # pulls (1.5 s).
        image=str(attrs["Id"]),
        port=port,
        env=env,
        args=args,
        mount=mount,
        secrets=names,
        constraint=constraint,
        labels=scope.labels,
    )
    return config, files, bind_path


@contextlib.contextmanager
def _service(  # noqa: PLR0917 - a cell and where it runs
    cluster: SwarmCluster,
    scope: Session,
    cell: Cell,
    image: str,
    index: int,
    creds: Credentials,
    plan: SwarmCellPlan,
) -> Iterator[DeployedService]:
    # Any node but none: a constraint every node meets keeps one code path for both.
    constraint = f"node.hostname=={plan.written_on}" if plan.written_on else "node.role!=none"
    with cell_port(index) as port:
        config, files, bind_path = _config(cluster, scope, cell, image, port, creds, constraint)
        stack = f"h{scope.id}{index}" if cell.action == "stack-redeploy" else None
        scratch = RunState.of(scope).new_directory("scratch", "swarm-")
        with deployed(cluster, config, files, stack=stack, bind_path=bind_path,
                      scratch=scratch) as service:  # fmt: skip
            yield service


# The servers' ports on the nodes: above the swarm's (2375-2377, 4789, 7946) and the servers'
# defaults.
CELL_PORTS = range(31000, 32000)


@contextlib.contextmanager
def cell_port(index: int) -> Iterator[int]:
    """A port of the cell's own on every node for as long as the cell runs (its service uses
    the node's network). Claimed with a lock file under the runs' state root, from the cell's
    index on: two runs of this machine (a compose-check beside a matrix run, two checks) never
    give their servers one port, where each counting from 31000 did ("Address already in use")."""
    folder = state_root() / "swarm-ports"
    folder.mkdir(parents=True, exist_ok=True)
    for step in range(len(CELL_PORTS)):
        port = CELL_PORTS[(index + step) % len(CELL_PORTS)]
        with (folder / f"{port}.lock").open("a") as claim:
            try:
                fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another cell of this machine holds it
            try:
                yield port
            finally:
                fcntl.flock(claim, fcntl.LOCK_UN)
            return
    raise HarnessError(
        f"Every swarm cell port ({CELL_PORTS.start}-{CELL_PORTS.stop - 1}) is held by a run of "
        "this machine; wait for the other runs to finish and try again."
    )


def _exercise(  # noqa: PLR0917 - the cell's parts
    cluster: SwarmCluster,
    service: DeployedService,
    cell: Cell,
    creds: Credentials,
    result: ScenarioResult,
    plan: SwarmCellPlan,
    steps: CellSteps,
    judge: Judge,
) -> None:
    profile = DATABASES[cell.database]
    port = service.config.port
    steps.begin("the service's first task")
    first = service.running_task()
    result.node_written = first.node
    server = SwarmTask(cluster, first, port)
    with closing(wait_until_ready(server, profile, creds)) as connection:
        steps.begin("the write of the Persons rows")
        data_dir = profile.data_directory(connection)
        _verify_placement(cell, data_dir, server)
        result.rows_written = write_persons(connection)
    steps.begin(f"the {cell.action} action", acting=True)
    restore = _act(cluster, service, cell, first, plan)
    try:
        steps.begin("the read-back of the rows")
        second = service.running_task(avoiding=first.node if cell.action == "node-down" else "")
        result.node_read = second.node
        _expect(result, judge, first.node, second.node)
        observation = _observe(cluster, second, port, profile, creds)
        result.observed = observation.outcome
        result.rows_read = observation.rows_read
        result.detail = observation.detail
        result.mounts = "; ".join(m.describe() for m in observed_mounts(SwarmTask(
            cluster, second, port).attrs()))  # fmt: skip
        if cell.action == "move-node" and SWARM_STORAGE[cell.storage].on_node:
            result.detail = _read_back_on(cluster, service, first.node, port, profile, creds,
                                          result.detail)  # fmt: skip
    finally:
        _put_back(restore, result)


def _put_back(restore: Callable[[], None], result: ScenarioResult) -> None:
    """Put the swarm back (a drained node active, a stopped node started). A failure is said
    with the cell (its verdict, made before, stands) and never hides the cell's own failure."""
    try:
        restore()
    except Exception as error:  # the engine's failure, whatever the SDK calls it
        said = f"the swarm was not put back after {result.cell.action}: {described(error)}"
        result.detail = f"{result.detail}; {said}" if result.detail else said


def _observe(
    cluster: SwarmCluster, task: Task, port: int, profile: DatabaseProfile, creds: Credentials
) -> Observation:
    server = SwarmTask(cluster, task, port)
    return observe(profile.classify_missing, lambda: wait_until_ready(server, profile, creds),
                   PERSONS_ROWS)  # fmt: skip


def _read_back_on(  # noqa: PLR0917 - where the rows are, proven
    cluster: SwarmCluster,
    service: DeployedService,
    node: str,
    port: int,
    profile: DatabaseProfile,
    creds: Credentials,
    detail: str,
) -> str:
    """After a move, the task moved back to the node the rows were written on: what it reads
    there says whether the rows stayed on that node (the verdict stands either way)."""
    service.service().update(constraints=[f"node.hostname=={node}"])
    back = service.running_task()
    observation = _observe(cluster, back, port, profile, creds)
    found = (f"all {observation.rows_read} rows" if observation.outcome is Outcome.SURVIVES
             else f"{observation.rows_read} rows ({observation.detail})")  # fmt: skip
    said = f"moved back to {node}, the task read {found} there"
    return f"{detail}; {said}" if detail else said


def _update_force(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    service.service().force_update()


def _kill_task(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    cluster.engine(task.node).client.containers.get(task.container_id).kill()


def _move_node(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    service.service().update(constraints=[f"node.hostname=={other}"])


def _scale_zero(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    service.service().scale(0)
    service.wait_no_task()
    service.service().scale(1)


def _stack_redeploy(
    cluster: SwarmCluster, service: DeployedService, task: Task, other: str
) -> None:
    service.remove_stack()
    service.deploy()


def _drain_node(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    _set_availability(cluster, task.node, "drain")


def _node_down(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    cluster.stop_node(task.node)


SwarmAct = Callable[[SwarmCluster, DeployedService, Task, str], None]


def _nothing(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    """Nothing to put back: the action changed only the cell's own service."""


def _reactivate(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    _set_availability(cluster, task.node, "active")


def _restart_node(cluster: SwarmCluster, service: DeployedService, task: Task, other: str) -> None:
    _node_back(cluster, task.node)


# Each swarm action (model/swarm.py names them): what it does, and what puts the swarm back
# afterwards (a drained node active again, a stopped node started).
_ACTS: dict[str, tuple[SwarmAct, SwarmAct]] = {
    "update-force": (_update_force, _nothing),
    "kill-task": (_kill_task, _nothing),
    "move-node": (_move_node, _nothing),
    "scale-zero": (_scale_zero, _nothing),
    "stack-redeploy": (_stack_redeploy, _nothing),
    "drain-node": (_drain_node, _reactivate),
    "node-down": (_node_down, _restart_node),
}


def _act(
    cluster: SwarmCluster,
    service: DeployedService,
    cell: Cell,
    task: Task,
    plan: SwarmCellPlan,
) -> Callable[[], None]:
    """Apply the action; what puts the swarm back afterwards."""
    act, put_back = _ACTS[cell.action]
    act(cluster, service, task, plan.other)
    return lambda: put_back(cluster, service, task, plan.other)


def _set_availability(cluster: SwarmCluster, name: str, availability: str) -> None:
    manager = cluster.manager()
    node = manager.client.nodes.get(cluster.node_id(name))
    spec = dict(node.attrs["Spec"])
    spec["Availability"] = availability
    node.update(spec)


def _node_back(cluster: SwarmCluster, name: str) -> None:
    """The stopped node's engine started again, and Ready in its managers' eyes."""
    cluster.start_node(name)
    try:
        # Another manager's view; on a swarm of one manager, the node's own.
        judge = cluster.manager(avoiding=name)
    except EngineUnavailable:
        judge = cluster.manager()
    deadline = time.monotonic() + NODE_BACK_DEADLINE
    while time.monotonic() < deadline:
        states = {n.name: n.state for n in node_states(judge)}
        if states.get(name) == "ready":
            return
        time.sleep(1)
    raise HarnessError(
        f"Swarm node {name} was not Ready {NODE_BACK_DEADLINE:.0f} s after it "
        "started again; run `python -m harness engines down swarm` and up again."
    )


def _verify_placement(cell: Cell, data_dir: str, server: SwarmTask) -> None:
    """The data directory must be on the mount the storage declares, else no verdict."""
    mount = mount_holding(observed_mounts(server.attrs()), data_dir)
    where = misplaced(SWARM_STORAGE[cell.storage].holder, mount)
    if where:
        raise HarnessError(
            f"{cell.id}: {cell.database} keeps its data in {data_dir}, on {where}, not where "
            f"the {cell.storage} storage puts it, so there is no verdict."
        )
