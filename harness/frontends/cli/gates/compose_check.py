"""`python -m harness compose-check FILE`: will a user's compose project keep its database's data?

It reads the file, says per database service and action what Compose promises for the storage
the file declares (and why), then proves each on a private copy of the service and reports
observed against expected. Exit 0 when every `--must-survive` action kept the rows, 1 when one
lost them (with the change to make), 2 for usage, environment and no verdict.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine, Session
from harness.containers.engine_watch import return_limit
from harness.engines.catalogue import SWARM
from harness.errors import UsageError
from harness.frontends.cli.common import (
    add_image_options,
    add_report_options,
    shard_of,
)
from harness.frontends.cli.gates.compose_check_parts import (
    CheckedFile,
    asked_services,
    checked_service,
    database_of_name,
    find_services,
    finish,
    normalised,
    one_file,
    parse_actions,
    read_compose_file,
    run_checks,
)
from harness.frontends.cli.gates.compose_check_static import check_statically
from harness.frontends.cli.gates.compose_check_swarm import check_on_swarm
from harness.frontends.options import ImageRequest
from harness.frontends.reports.compose_check import CheckReport, expectation_lines
from harness.frontends.reports.shards import compose_check_block
from harness.grading.stand_ins import stand_ins_of
from harness.images.availability import database_of_image, require_present, select_images
from harness.model.cells import ScenarioResult
from harness.model.platforms.compose_check import (
    CHECK_ACTIONS,
    DEFAULT_MUST_SURVIVE,
)
from harness.model.platforms.swarm import SWARM_ACTION_NAMES
from harness.model.platforms.swarm_check import DEFAULT_MUST_SURVIVE_ON_SWARM
from harness.model.servers.databases import DATABASES
from harness.persistence.compose_check import CheckedService, run_check_cell

ONE_ENGINE = "engine"


def _database_of(engine: Engine) -> Callable[[str], str | None]:
    """Which database an image runs: by its name (mysql, mariadb, postgres), else from its
    config when it is on the engine."""

    def of(image: str) -> str | None:
        known = database_of_name(image)
        if known or not image or not engine.has_image(image):
            return known
        return database_of_image(engine, image)

    return of


def cmd_compose_check(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {args.jobs}.")
    if args.static:
        return check_statically(args)
    path = one_file(args.files)
    shard = shard_of(args)
    if shard and args.on == SWARM:
        raise UsageError("--shard splits a check over engines; on a swarm drop --shard.")
    raw = read_compose_file(path)
    actions, must_survive = parse_actions(args)
    asked = asked_services(args)
    return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT, before any work
    engine = Engine.connect()
    compose = Compose(compose_binary(), engine.docker_host)
    version = compose.version()
    model = normalised(compose, path.resolve())
    found = find_services(path, model, asked, _database_of(engine))
    request = ImageRequest.read(lambda dest: getattr(args, dest), os.environ)
    choices = [c for c in select_images(engine, request, ask_registry=False)
               if c.database in found.values()]  # fmt: skip
    require_present(engine, choices)
    chosen = {c.database: c.ref for c in choices}
    if args.on == SWARM:
        file = CheckedFile(path, model, raw, found, chosen, version, choices)
        return check_on_swarm(args, file, actions, must_survive)
    stand_ins = stand_ins_of(choices, engine.has_image)
    checked = [
        checked_service(engine, path, model, raw, name, database, stand_ins)
        for name, database in found.items()
    ]
    print(f"compose-check: {path} on {engine.info.name} {engine.info.version}, Compose {version}")
    print("What the file promises, before anything runs:")
    services = [c.service for c in checked]
    print("\n".join(expectation_lines(services, actions, must_survive)))
    report = CheckReport(str(path), engine.info, version, must_survive)
    every_check = [(target, action) for target in checked for action in actions]
    mine = shard.take(every_check) if shard else every_check

    def run_one(
        session: Session, target: CheckedService, action: str, index: int
    ) -> tuple[ScenarioResult, list[str]]:
        # A scope of its own: checks at once tell their containers' events apart (a kill in
        # one is not "something outside" to another) and are swept alone.
        scope = session.scoped(f"check{index + 1}")
        return run_check_cell(engine, scope, compose, model, target, action)

    notes = run_checks(
        engine, mine, report, run_one,
        private="a private copy of the service (your own project, volumes and files are never "
        "touched)",
        jobs=args.jobs,
    )  # fmt: skip
    block = compose_check_block(shard, report, len(every_check), notes) if shard else None
    return finish(args, report, block)


def add_compose_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "compose-check",
        help="does your compose file keep its database's data? (exit 0 yes, 1 no, 2 usage)",
    )
    check.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="the compose file (several with --static)",
    )
    check.add_argument(
        "--static",
        action="store_true",
        help="the promise table alone, from the files and what the harness knows of the "
        "official images: no engine, nothing run (exit 1 when a must-survive action would lose "
        "the rows); the pre-commit hook runs this",
    )
    check.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        help="repeatable: check this service (default: every database service)",
    )
    check.add_argument(
        "--database",
        choices=list(DATABASES),
        help="which database --service runs, when its image does not say",
    )
    check.add_argument(
        "--on",
        choices=[ONE_ENGINE, SWARM],
        default=ONE_ENGINE,
        help="run the file as a compose project on one engine (default), or as a stack on the "
        "swarm `engines up swarm` brought up, through the swarm's actions",
    )
    check.add_argument(
        "--action",
        action="append",
        choices=[*CHECK_ACTIONS, *SWARM_ACTION_NAMES],
        help="repeatable: run this action (default: all of the target's)",
    )
    check.add_argument(
        "--must-survive",
        metavar="NAME,...",
        help=f"actions that must keep the rows (default: {','.join(DEFAULT_MUST_SURVIVE)}; on a "
        f"swarm {','.join(DEFAULT_MUST_SURVIVE_ON_SWARM)})",
    )
    check.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="checks at once on one engine, each on its own copy (default: the machine's cores, "
        f"{os.cpu_count() or 1} here); on a swarm one at a time",
    )
    add_report_options(check, "the service-action checks", html="the HTML report")
    add_image_options(check)
    check.set_defaults(handler=cmd_compose_check)  # fmt: skip
