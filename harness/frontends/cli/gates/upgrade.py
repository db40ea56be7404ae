"""`python -m harness upgrade-check --from IMAGE --to IMAGE`: a CI gate for image bumps.

The old image writes the Persons rows, the container is recreated with the new image on the
same storage, and the new server must read every row. Exit 0 when it does; 1 when it refuses
the data or the rows are lost, with the server's own reason; 2 for usage and environment.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness.containers.database import database_container
from harness.containers.engine import Engine
from harness.containers.engine_watch import return_limit, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.errors import UsageError, described
from harness.frontends.reports.json_report import to_json, write_json
from harness.images.availability import cannot_tell_database, database_of_image, require_refs
from harness.images.sources import UpgradeImages
from harness.model.cells import Cell, ScenarioResult
from harness.model.faults import CellSteps
from harness.model.outcomes import Outcome
from harness.model.platforms.storage import STORAGE_NAMES
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.image_variables import Unusable, contract_for, read_credentials
from harness.persistence.fault_causes import failure_cause
from harness.persistence.scenario import planned, run_cell

NOT_SAFE_EXIT = 1
NO_VERDICT_EXIT = 2
ADVICE = {
    "postgres": "move the data with pg_upgrade (or pg_dumpall from the old server and a restore "
    "into the new one) before bumping the image",
    "mysql": "read the new server's error above: most often an option the new major removed "
    "(MySQL upgrades its data in place only from the previous LTS or innovation release)",
    "mariadb": "read the new server's error above: an option it removed, or a skipped "
    "mariadb-upgrade (set MARIADB_AUTO_UPGRADE=1)",
}


def parse_env(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs from `--env`; a pair without `=` is a usage error."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env {pair!r} is not KEY=VALUE; write it as --env KEY=VALUE.")
        env[key] = value
    return env


def _database(engine: Engine, old: str, new: str, asked: str | None) -> str:
    """`--database`, else what both images say they run (they must agree)."""
    found = {ref: database_of_image(engine, ref) for ref in (old, new)}
    database = asked or found[old] or found[new]
    if database is None:
        raise cannot_tell_database(old, "--database")
    for ref, seen in found.items():
        if seen not in (None, database):
            raise UsageError(f"{ref} runs {seen}, not {database}; compare images of one database.")
    return database


def _credentials(image: str, profile: DatabaseProfile, extra_env: dict[str, str]) -> Credentials:
    """The harness's own random credentials, as `--env` leaves them: its variables win, read
    through the image's variables table like any configuration."""
    env = {**profile.init_env(Credentials.random()), **extra_env}
    creds = read_credentials(contract_for(image, profile.name), env)
    if isinstance(creds, Unusable):
        raise UsageError(creds.sentence("--env"))
    return creds


def verdict(result: ScenarioResult, database: str) -> tuple[int, list[str]]:
    """The exit code and what to print, from the cell's result."""
    old, new = result.upgrade_from, result.upgrade_to
    if result.error:
        return NO_VERDICT_EXIT, [f"no verdict: {result.error}"]
    if result.observed is Outcome.SURVIVES:
        return 0, [f"survives: {new} read back all {result.rows_read} Persons rows {old} wrote."]
    if result.observed is Outcome.REFUSED:
        return NOT_SAFE_EXIT, [
            f"refused: {new} will not start on the data {old} wrote: {result.detail}.",
            f"The data is still on disk; {ADVICE[database]}.",
        ]
    return NOT_SAFE_EXIT, [
        f"lost: {new} read {result.rows_read} of {result.rows_written} Persons rows {old} "
        f"wrote ({result.detail or 'rows differ'}).",
        f"Why: {result.reason}",
    ]


def cmd_upgrade_check(args: argparse.Namespace) -> int:
    extra_env = parse_env(args.env or [])
    images = (args.from_image, args.to_image)
    limit = return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT, before any work
    engine = Engine.connect()
    require_refs(engine, images, "pull or build them first (upgrade-check never pulls)")
    database = _database(engine, *images, args.database)
    print(f"upgrade-check: {database} {images[0]} -> {images[1]} on {args.storage} storage")
    profile = DATABASES[database]
    creds = _credentials(images[0], profile, extra_env)
    session = start_run(engine)
    cell = Cell(database, args.storage, "upgrade")
    upgrade = UpgradeImages(*images)
    result: ScenarioResult | None = None
    try:
        with database_container(engine, session, images[0], profile, creds, extra_env) as container:
            result = run_cell(engine, session, cell, container, creds, upgrade)
    except Exception as error:  # the secrets' volume: the engine's failure, as the cell's error
        if result is None:  # a verdict made stands: the rows were read back
            seen = redact(described(error), creds.secrets)
            result = planned(engine, cell, upgrade)
            result.error = failure_cause(engine, session, CellSteps(), seen)
    finally:
        end_run_or_say(engine, session, say_on_stderr, limit)
    code, lines = verdict(result, database)
    print("\n".join(lines))
    if args.json:
        write_json(args.json, to_json(engine.info, {database: images[0]}, [result]))
        print(f"JSON report: {args.json}")
    return code


def add_upgrade_command(commands: Any) -> None:
    check = commands.add_parser(
        "upgrade-check",
        help="does a new image read the data an old one wrote? (exit 0 yes, 1 no, 2 usage)",
    )
    check.add_argument("--from", dest="from_image", required=True, metavar="IMAGE")
    check.add_argument("--to", dest="to_image", required=True, metavar="IMAGE")
    check.add_argument(
        "--storage",
        choices=list(STORAGE_NAMES),
        default="named",
        help="where the data lives across the recreate (default: named)",
    )
    check.add_argument("--database", choices=list(DATABASES), help="when it cannot be detected")
    check.add_argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="repeatable: extra environment for both containers (MARIADB_AUTO_UPGRADE=1)",
    )
    check.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report here")
    check.set_defaults(handler=cmd_upgrade_check)
