"""`python -m harness compose-check FILE`: will a user's compose project keep its database's data?

It reads the file, says per database service and action what Compose promises for the storage
the file declares (and why), then proves each on a private copy of the service and reports
observed against expected. Exit 0 when every `--must-survive` action kept the rows, 1 when one
lost them (with the change to make), 2 for usage, environment and no verdict.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine
from harness.containers.engine_watch import return_limit, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.errors import UsageError
from harness.frontends.cli.common import add_image_options, progress_printer
from harness.frontends.options import ImageRequest
from harness.frontends.reports.compose_check import (
    CheckEntry,
    CheckReport,
    expectation_lines,
    result_lines,
    to_html,
)
from harness.frontends.reports.json_report import write_json
from harness.frontends.reports.shards import compose_check_block
from harness.grading.stand_ins import DATABASE_OF_NAME
from harness.images.availability import database_of_image, require_present, select_images
from harness.model.compose_check import (
    CHECK_ACTIONS,
    DEFAULT_MUST_SURVIVE,
    database_services,
)
from harness.model.databases import DATABASES
from harness.model.image_credentials import Unusable
from harness.model.shards import shard_option
from harness.model.spec import image_name
from harness.persistence.compose_check import (
    CheckedService,
    ServiceChoice,
    read_service,
    run_check_cell,
)


def read_compose_file(path: Path) -> dict[str, Any]:
    """The file's YAML; UsageError (file and line) when it cannot be read or parsed."""
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"Cannot read {path}: {error.strerror}; give a compose file.") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise UsageError(f"{path}{where}: {problem}; fix the YAML.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise UsageError(f"{path} has no `services:` mapping; give a compose file.")
    return raw


def normalised(compose: Compose, path: Path) -> dict[str, Any]:
    """The file as Compose itself reads it (env files merged, paths absolute, long forms)."""
    result = compose.run(["-f", str(path), "config", "--format", "json"], cwd=path.parent)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UsageError(f"{path} is not a compose file Compose accepts: {last}")
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def parse_actions(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the actions to run, the must-survive ones); the must-survive ones always run."""
    must = tuple(
        a.strip() for a in (args.must_survive or ",".join(DEFAULT_MUST_SURVIVE)).split(",")
    )
    for name in must:
        if name not in CHECK_ACTIONS:
            raise UsageError(
                f"--must-survive names an unknown action {name!r}; choose from "
                f"{', '.join(CHECK_ACTIONS)}."
            )
    asked = args.action or list(CHECK_ACTIONS)
    actions = tuple(a for a in CHECK_ACTIONS if a in asked or a in must)
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


def _checked_service(  # noqa: PLR0917 - the file, its readings, the service, what stands in
    engine: Engine,
    path: Path,
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    name: str,
    database: str,
    stand_ins: Mapping[str, str],
) -> CheckedService:
    """The service read: what runs (the file's image when the engine has it, else the stand-in
    of its database), where its data is, and whom the harness logs in as."""
    declared = model["services"][name]
    image = str(declared.get("image") or "")
    runs = image if image and engine.has_image(image) else stand_ins[database]
    checked = read_service(engine, model, raw, ServiceChoice(name, database, runs))
    if isinstance(checked, Unusable):
        raise UsageError(checked.sentence(f"{path.name}'s service {name}"))
    return checked


def cmd_compose_check(args: argparse.Namespace) -> int:
    path: Path = args.file
    shard = shard_option(args.shard)
    if shard and not args.json:
        raise UsageError(
            "--shard needs --json PATH: `merge` puts the shards' JSON reports together."
        )
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
    stand_ins = {c.database: c.ref for c in choices}
    checked = [
        _checked_service(engine, path, model, raw, name, database, stand_ins)
        for name, database in found.items()
    ]
    print(f"compose-check: {path} on {engine.info.name} {engine.info.version}, Compose {version}")
    print("What the file promises, before anything runs:")
    services = [c.service for c in checked]
    print("\n".join(expectation_lines(services, actions, must_survive)))
    report = CheckReport(str(path), engine.info, version, must_survive)
    every_check = [(target, action) for target in checked for action in actions]
    mine = shard.take(every_check) if shard else every_check
    notes = _run_all(engine, compose, model, mine, report)
    print("\nObserved against expected:")
    print("\n".join(result_lines(report)))
    for note in report.notes:
        print(f"note: {note}")
    print("\n".join(report.verdict_lines()))
    block = compose_check_block(shard, report, len(every_check), notes) if shard else None
    _write_reports(args, report, block)
    return report.exit_code()


def _run_all(
    engine: Engine,
    compose: Compose,
    model: Mapping[str, Any],
    checks: list[tuple[CheckedService, str]],
    report: CheckReport,
) -> list[list[str]]:
    """Each service-action check in turn, into `report`; each check's own notes, in order."""
    total = len(checks)
    print(f"\nRunning {total} action(s), each on a private copy of the service (your own "
          "project, volumes and files are never touched):", flush=True)  # fmt: skip
    show = progress_printer()
    session = start_run(engine)
    every_note: list[list[str]] = []
    try:
        for target, action in checks:
            result, notes = run_check_cell(engine, session, compose, model, target, action)
            entry = CheckEntry(target.service, result)
            report.entries.append(entry)
            report.notes.extend(n for n in notes if n not in report.notes)
            every_note.append(list(notes))
            show(f"{len(report.entries)}/{total} {entry.id}: {entry.observed()} "
                 f"(expected {result.expected.value})")  # fmt: skip
    finally:
        end_run_or_say(engine, session, say_on_stderr, return_limit(os.environ))
    return every_note


def _write_reports(
    args: argparse.Namespace, report: CheckReport, shard_block: dict[str, Any] | None
) -> None:
    """JSON and HTML when asked for; a shard's JSON carries its `shard` block for `merge`."""
    if args.json:
        write_json(args.json, report.to_json() | ({"shard": shard_block} if shard_block else {}))
        print(f"JSON report: {args.json}")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(to_html(report))
        print(f"HTML report: {args.html}")


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
        "--action",
        action="append",
        choices=list(CHECK_ACTIONS),
        help="repeatable: run this action (default: all)",
    )
    check.add_argument(
        "--must-survive",
        metavar="NAME,...",
        help=f"actions that must keep the rows (default: {','.join(DEFAULT_MUST_SURVIVE)})",
    )
    check.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report here")
    check.add_argument("--html", type=Path, metavar="PATH", help="write the HTML report here")
    check.add_argument(
        "--shard",
        metavar="K/N",
        help="run only the K-th of N equal parts of the service-action checks (one per "
        "machine; `merge` puts their JSON reports together)",
    )
    add_image_options(check)
    check.set_defaults(handler=cmd_compose_check)  # fmt: skip
