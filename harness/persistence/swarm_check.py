"""One `compose-check --on swarm` check: a user's database service deployed as a private stack
(`docker stack deploy`), the Persons rows, one swarm action, the rows read back, judged by where
the tasks ran.

The stack is the run's: its name, volumes, secrets and node directories are the harness's and
carry its labels, so nothing of the user's is touched. It runs through the swarm matrix's cell
(`swarm_scenario.run_on_swarm`), with the swarm's promise said of the user's service.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.containers.engine import Session
from harness.containers.run_state import RunState
from harness.engines.swarm import SwarmCluster
from harness.engines.swarm_service import (
    PORT_ARGS,
    DeployedService,
    ServiceConfig,
    deployed,
    passwords_as_secrets,
)
from harness.model.cells import SWARM_MATRIX, Cell, ScenarioResult
from harness.model.outcomes import Promise
from harness.model.placement import ImageFacts
from harness.model.platforms.compose_check import DatabaseService, Expectation
from harness.model.platforms.swarm import planned_read_node
from harness.model.platforms.swarm_check import (
    StackPlan,
    StackService,
    stack_service,
    swarm_expectation,
    swarm_storage,
)
from harness.model.servers.databases import DATABASES
from harness.persistence.compose_check import CheckedService
from harness.persistence.swarm_scenario import (
    BIND_ROOT,
    SwarmCellPlan,
    cell_port,
    plan_nodes,
    run_on_swarm,
)

NETWORK_NOTE = (
    "On the swarm the service uses its node's own network (no published port), so the harness "
    "reaches it on whichever node its task runs."
)


def check_cell(service: DatabaseService, action: str) -> Cell:
    """The swarm matrix's cell that a check of `service` under `action` is."""
    return Cell(service.database, swarm_storage(service), action, SWARM_MATRIX)


def planned_expectation(service: DatabaseService, action: str, nodes: list[str]) -> Expectation:
    """The promise before anything runs: on the nodes the harness will pin the task to, or
    "another node" where the scheduler moves it (a drain, a node going down)."""
    plan = plan_nodes(check_cell(service, action), 0, nodes)  # every check is planned alike
    read_on = planned_read_node(action, plan.written_on, plan.other)
    return swarm_expectation(service, action, plan.written_on or "its node",
                             read_on or "another node")  # fmt: skip


def run_swarm_check_cell(  # noqa: PLR0917 - the swarm, the run, the file, the service, the action
    cluster: SwarmCluster,
    session: Session,
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    checked: CheckedService,
    action: str,
    index: int,
) -> tuple[ScenarioResult, list[str]]:
    """Run `action` on a private stack of the service; every failure becomes a result without
    a verdict, with its cause. Also: what the stack did differently from the file."""
    service = checked.service
    cell = check_cell(service, action)
    scope = session.scoped(re.sub(r"[^a-z0-9-]", "-", f"check-{service.name}-{action}".lower()))
    notes: list[str] = [NETWORK_NOTE]

    def judge(written_on: str, read_on: str) -> Promise:
        expected = swarm_expectation(service, action, written_on, read_on)
        return Promise(expected.outcome, expected.reason)

    @contextlib.contextmanager
    def service_for(plan: SwarmCellPlan) -> Iterator[DeployedService]:
        with cell_port(index) as port:
            config, files, bind_path, stack = _stack_config(
                cluster, scope, model, raw, checked, cell, port, plan
            )
            notes.extend(stack.notes)
            scratch = RunState.of(scope).new_directory("scratch", "swarm-check-")
            with deployed(cluster, config, files, stack=f"h{scope.id}{index}",
                          bind_path=bind_path, scratch=scratch) as deployment:  # fmt: skip
                yield deployment

    # Every check is planned alike (written on the first node, moved to the second), as its
    # expectation was said before anything ran; `index` keeps the checks' ports and stacks apart.
    result = run_on_swarm(cluster, scope, cell, 0, checked.creds, judge, service_for)
    return result, notes


def _stack_config(  # noqa: PLR0917 - what the user's service becomes on the swarm
    cluster: SwarmCluster,
    scope: Session,
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    checked: CheckedService,
    cell: Cell,
    port: int,
    plan: SwarmCellPlan,
) -> tuple[ServiceConfig, dict[str, str], str, StackService]:
    """The service's configuration for the stack, its secrets' contents (by file name), the
    node directory standing in for a bind that holds the data, and the user's service kept."""
    service = checked.service
    profile = DATABASES[service.database]
    declared = model["services"][service.name]
    attrs = cluster.manager().image_attrs(service.runs)
    facts = ImageFacts.from_config(service.runs, attrs["Config"])
    prefix = f"harness-{scope.id}-{secrets.token_hex(3)}-"
    env = {k: str(v) for k, v in (declared.get("environment") or {}).items() if v is not None}
    env, files, names = passwords_as_secrets(
        {**env, **checked.environment}, profile.password_variables, prefix
    )
    # The file's own secrets, made as the harness's (labelled, removed with the run), under the
    # file names the service reads them by.
    for used in declared.get("secrets") or []:
        content = _secret_content(model, str(used["source"]))
        if content is not None:
            filename = Path(str(used.get("target") or used["source"])).name
            files[filename], names[filename] = content, f"{prefix}{filename}"
    # The check's own directory (two services of one storage are two checks, not one cell).
    bind_path = f"{BIND_ROOT}/{scope.id}/{scope.scope}" if cell.storage == "bind" else ""
    stack = stack_service(model, raw, service.name, StackPlan(
        labels=scope.labels, data_dir=service.data_dir, data_bind=bind_path,
        volume_prefix=prefix,
    ))  # fmt: skip
    command = declared.get("command") or list(facts.cmd)
    constraint = f"node.hostname=={plan.written_on}" if plan.written_on else "node.role!=none"
    config = ServiceConfig(
        name=prefix.rstrip("-"),
        # By id, as the matrix does: a node never tries to pull it.
        image=str(attrs["Id"]),
        port=port,
        env=env,
        args=(*(str(part) for part in command), *PORT_ARGS[service.database](port)),
        mount=None,
        secrets=names,
        constraint=constraint,
        labels=scope.labels,
        user=stack,
        service_key=service.name,
    )
    return config, files, bind_path, stack


def _secret_content(model: Mapping[str, Any], key: str) -> str | None:
    """A file secret's content (None for one the harness cannot read: an external one)."""
    file = ((model.get("secrets") or {}).get(key) or {}).get("file")
    try:
        return Path(str(file)).read_text() if file else None
    except OSError:
        return None
