"""`python -m harness compose-check FILE --on swarm`: the user's compose file as a stack on the
swarm `engines up swarm` brought up, each database service through the swarm's actions, with the
same expectations-then-proof output, reports and exit codes as on one engine."""

from __future__ import annotations

import argparse

from harness.containers.engine import Engine, Session
from harness.engines.catalogue import ENGINE_LABEL, SWARM, require_loaded_on_nodes
from harness.engines.swarm import SwarmCluster
from harness.frontends.cli.gates.compose_check_parts import (
    CheckedFile,
    checked_service,
    finish,
    run_checks,
)
from harness.frontends.reports.compose_check import (
    ON_SWARM,
    CheckReport,
    expectation_lines,
)
from harness.grading.stand_ins import stand_ins_of
from harness.model.cells import ScenarioResult
from harness.model.platforms.compose_check import DatabaseService, Expectation
from harness.persistence.compose_check import CheckedService
from harness.persistence.swarm_check import planned_expectation, run_swarm_check_cell


def check_on_swarm(
    args: argparse.Namespace,
    file: CheckedFile,
    actions: tuple[str, ...],
    must_survive: tuple[str, ...],
) -> int:
    host = Engine.connect()
    cluster = SwarmCluster.connect(host, f"{ENGINE_LABEL}={SWARM}")
    try:
        require_loaded_on_nodes(cluster, file.stand_ins.values())  # a task lands on any node
        manager = cluster.manager()
        nodes_engines = tuple(cluster.engines.values())
        stand_ins = stand_ins_of(
            list(file.choices), lambda ref: all(e.has_image(ref) for e in nodes_engines)
        )
        checked = [
            checked_service(
                manager,
                file.path,
                file.model,
                file.raw,
                name,
                database,
                stand_ins,
                nodes_engines,
            )
            for name, database in file.services.items()
        ]
        nodes = [node.name for node in cluster.nodes]

        def expect(service: DatabaseService, action: str) -> Expectation:
            return planned_expectation(service, action, nodes)

        print(f"compose-check: {file.path} as a stack on a swarm of {len(nodes)} node(s), "
              f"{manager.info.name} {manager.info.version}")  # fmt: skip
        print("What the file promises on the swarm, before anything runs:")
        services = [c.service for c in checked]
        print("\n".join(expectation_lines(services, actions, must_survive, expect)))
        report = CheckReport(str(file.path), manager.info, file.compose_version, must_survive,
                             on=ON_SWARM)  # fmt: skip
        checks = [(target, action) for target in checked for action in actions]

        def run_one(
            session: Session, target: CheckedService, action: str, index: int
        ) -> tuple[ScenarioResult, list[str]]:
            return run_swarm_check_cell(
                cluster, session, file.model, file.raw, target, action, index
            )

        run_checks(
            manager, checks, report, run_one,
            private="a private stack of the service (your own stacks, volumes and files are "
            "never touched)",
        )  # fmt: skip
        return finish(args, report, None)
    finally:
        cluster.close()
        host.close()
