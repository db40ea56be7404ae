"""`python -m harness compose-check FILE`: will a user's compose project keep its database's data?

It reads the file, says per database service and action what Compose promises for the storage
the file declares (and why), then proves each on a private copy of the service and reports
observed against expected. Exit 0 when every `--must-survive` action kept the rows, 1 when one
lost them (with the change to make), 2 for usage, environment and no verdict.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
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
    checked_service,
    finish,
    normalised,
    read_compose_file,
    run_checks,
)
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
    database_services,
)
from harness.model.platforms.swarm import SWARM_ACTION_NAMES
from harness.model.platforms.swarm_check import DEFAULT_MUST_SURVIVE_ON_SWARM
from harness.model.servers.databases import DATABASES
from harness.model.servers.stand_in_table import DATABASE_OF_NAME
from harness.model.spec import image_name
from harness.persistence.compose_check import CheckedService, run_check_cell

ONE_ENGINE = "engine"


def parse_actions(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the actions to run, the must-survive ones); the must-survive ones always run. On a
    swarm the actions are the swarm's, on one engine Compose's."""
    on_swarm = args.on == SWARM
    known = SWARM_ACTION_NAMES if on_swarm else CHECK_ACTIONS
    where = "on a swarm" if on_swarm else "on one engine (add --on swarm for the swarm's)"
    default = DEFAULT_MUST_SURVIVE_ON_SWARM if on_swarm else DEFAULT_MUST_SURVIVE
    must = tuple(a.strip() for a in (args.must_survive or ",".join(default)).split(","))
    for option, names in (("--must-survive", must), ("--action", args.action or [])):
        for name in names:
            if name not in known:
                raise UsageError(
                    f"{option} names {name!r}, not an action {where}; choose from "
                    f"{', '.join(known)}."
                )
    asked = args.action or list(known)
    actions = tuple(a for a in known if a in asked or a in must)
    return actions, must


def _asked_services(args: argparse.Namespace) -> dict[str, str | None]:
    if args.database and not args.service:
        raise UsageError("--database says which database a --service runs; name the service.")
    return dict.fromkeys(args.service or [], args.database)


def _database_of(engine: Engine) -> Callable[[str], str | None]:
    """Which database an image runs: by its name (mysql, mariadb, postgres), else from its
    config when it is on the engine."""

    def of(image: str) -> str | None:
        known = DATABASE_OF_NAME.get(image_name(image)) if image else None
        if known or not image or not engine.has_image(image):
            return known
        return database_of_image(engine, image)

    return of


def _find_services(
    engine: Engine, path: Path, model: Mapping[str, Any], asked: Mapping[str, str | None]
) -> dict[str, str]:
    names = ", ".join(model["services"])
    try:
        found = database_services(model, asked, _database_of(engine))
    except KeyError as error:
        raise UsageError(f"{path} has no service {error.args[0]!r}; it has {names}.") from None
    except ValueError as error:
        raise UsageError(
            f"Cannot tell which database service {error.args[0]!r} runs; add --database "
            f"({' or '.join(DATABASES)})."
        ) from None
    if not found:
        raise UsageError(
            f"{path} has no MySQL, MariaDB or PostgreSQL service (it has {names}); name one "
            "with --service NAME --database mysql|postgres."
        )
    return found


def cmd_compose_check(args: argparse.Namespace) -> int:
    path: Path = args.file
    shard = shard_of(args)
    if shard and args.on == SWARM:
        raise UsageError("--shard splits a check over engines; on a swarm drop --shard.")
    raw = read_compose_file(path)
    actions, must_survive = parse_actions(args)
    asked = _asked_services(args)
    return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT, before any work
    engine = Engine.connect()
    compose = Compose(compose_binary(), engine.docker_host)
    version = compose.version()
    model = normalised(compose, path.resolve())
    found = _find_services(engine, path, model, asked)
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
        return run_check_cell(engine, session, compose, model, target, action)

    notes = run_checks(
        engine, mine, report, run_one,
        private="a private copy of the service (your own project, volumes and files are never "
        "touched)",
    )  # fmt: skip
    block = compose_check_block(shard, report, len(every_check), notes) if shard else None
    return finish(args, report, block)


def add_compose_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "compose-check",
        help="does your compose file keep its database's data? (exit 0 yes, 1 no, 2 usage)",
    )
    check.add_argument("file", type=Path, metavar="FILE", help="the compose file")
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
    add_report_options(check, "the service-action checks", html="the HTML report")
    add_image_options(check)
    check.set_defaults(handler=cmd_compose_check)  # fmt: skip
