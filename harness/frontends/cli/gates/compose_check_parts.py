"""What `compose-check` does alike on one engine and on a swarm: the file read (as YAML and as
Compose normalises it), each database service read, and the results said and written."""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.containers.compose import Compose
from harness.containers.engine import Engine, Session
from harness.containers.engine_watch import return_limit, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.engines.catalogue import SWARM
from harness.errors import UsageError
from harness.frontends.cli.common import progress_printer
from harness.frontends.reports.compose_check import (
    CheckEntry,
    CheckReport,
    result_lines,
    to_html,
)
from harness.frontends.reports.json_report import write_json
from harness.grading.stand_ins import StandIns
from harness.images.sources import ImageChoice
from harness.model.cells import ScenarioResult
from harness.model.platforms.compose_check import (
    CHECK_ACTIONS,
    DEFAULT_MUST_SURVIVE,
    ServiceChoice,
    database_services,
)
from harness.model.platforms.swarm import SWARM_ACTION_NAMES
from harness.model.platforms.swarm_check import DEFAULT_MUST_SURVIVE_ON_SWARM
from harness.model.servers.databases import DATABASES
from harness.model.servers.image_variables import Unusable
from harness.model.servers.stand_in_table import DATABASE_OF_NAME
from harness.model.spec import image_name
from harness.persistence.compose_check import CheckedService, read_service


@dataclass(frozen=True)
class CheckedFile:
    """The user's file, read: its path, Compose's normalised model, the raw YAML, its database
    services (name -> database), each database's stand-in image and Compose's version."""

    path: Path
    model: Mapping[str, Any]
    raw: Mapping[str, Any]
    services: Mapping[str, str]
    stand_ins: Mapping[str, str]
    compose_version: str
    choices: Sequence[ImageChoice] = ()


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


def asked_services(args: argparse.Namespace) -> dict[str, str | None]:
    """The services `--service` names -> the database `--database` says they run (None: told
    by their image); `--database` alone is a usage error."""
    if args.database and not args.service:
        raise UsageError("--database says which database a --service runs; name the service.")
    return dict.fromkeys(args.service or [], args.database)


def one_file(files: Sequence[Path]) -> Path:
    """The one file a check on an engine runs; several are for `--static`."""
    if len(files) != 1:
        raise UsageError(
            f"compose-check runs one file on an engine and was given {len(files)}; give one "
            "FILE, or add --static to read several without an engine."
        )
    return files[0]


def database_of_name(image: str) -> str | None:
    """The database an official image runs, by its name alone (`postgres:18` -> postgres)."""
    return DATABASE_OF_NAME.get(image_name(image)) if image else None


def find_services(
    path: Path,
    model: Mapping[str, Any],
    asked: Mapping[str, str | None],
    database_of: Callable[[str], str | None],
) -> dict[str, str]:
    """The file's database services (name -> database); UsageError naming what is wrong, or
    that the file has none."""
    names = ", ".join(model["services"])
    try:
        found = database_services(model, asked, database_of)
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


def normalised(compose: Compose, path: Path) -> dict[str, Any]:
    """The file as Compose itself reads it (env files merged, paths absolute, long forms)."""
    result = compose.run(["-f", str(path), "config", "--format", "json"], cwd=path.parent)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UsageError(f"{path} is not a compose file Compose accepts: {last}")
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def checked_service(  # noqa: PLR0917 - the file, its readings, the service, what stands in
    engine: Engine,
    path: Path,
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    name: str,
    database: str,
    stand_ins: StandIns,
    holders: Sequence[Engine] = (),
) -> CheckedService:
    """The service read: what runs (the file's image when the engine has it, on a swarm every
    node in `holders`, else its stand-in: the table's version of its tag, else the chosen image
    of its database), where its data is, and whom the harness logs in as."""
    declared = model["services"][name]
    image = str(declared.get("image") or "")
    held = image and all(e.has_image(image) for e in (engine, *holders))
    stand_in = None if held else stand_ins.for_image(image)
    runs = image if held else (stand_in.ref if stand_in else stand_ins.images[database])
    other_major = stand_in.other_major if stand_in else None
    checked = read_service(engine, model, raw, ServiceChoice(name, database, runs, other_major))
    if isinstance(checked, Unusable):
        raise UsageError(checked.sentence(f"{path.name}'s service {name}"))
    return checked


def finish(args: argparse.Namespace, report: CheckReport, block: dict[str, Any] | None) -> int:
    """Observed against expected, the notes and the verdict, the reports; the exit code."""
    print("\nObserved against expected:")
    print("\n".join(result_lines(report)))
    for note in report.notes:
        print(f"note: {note}")
    print("\n".join(report.verdict_lines()))
    _write_reports(args, report, block)
    return report.exit_code()


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


# One check: (the run's session, the service, the action, its index) -> its result and notes.
RunCheck = Callable[[Session, CheckedService, str, int], tuple[ScenarioResult, list[str]]]


def run_checks(
    engine: Engine,
    checks: Sequence[tuple[CheckedService, str]],
    report: CheckReport,
    run_check: RunCheck,
    *,
    private: str,
    jobs: int = 1,
) -> list[list[str]]:
    """Each service-action check, `jobs` at a time, into `report` in the checks' order, with a
    progress line as each ends; each check's own notes, in order. `private` says what the check
    runs on, in the progress header ("a private copy of the service (your own project, ...)").
    Each check runs on its own copy under its own project name, so checks at once share
    nothing but the engine. On Ctrl-C the running checks finish and remove their copies before
    the run's sweep."""
    total = len(checks)
    at_once = max(1, min(jobs, total))
    print(f"\nRunning {total} action(s), {at_once} at a time, each on {private}:", flush=True)
    show = progress_printer()
    session = start_run(engine)
    done: dict[int, tuple[ScenarioResult, list[str]]] = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        target, action = checks[index]
        result, notes = run_check(session, target, action, index)
        entry = CheckEntry(target.service, result)
        nodes = (
            f" (written on {result.node_written}, read on {result.node_read})"
            if result.node_read
            else ""
        )
        with lock:
            done[index] = (result, notes)
            show(
                f"{len(done)}/{total} {entry.id}: {entry.observed()} "
                f"(expected {result.expected.value}){nodes}"
            )

    try:
        if at_once == 1:
            for index in range(total):
                one(index)
        else:
            pool = ThreadPoolExecutor(at_once, thread_name_prefix="compose-check")
            try:
                list(pool.map(one, range(total)))
            finally:  # on Ctrl-C: no new check starts; the running ones remove their copies
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        end_run_or_say(engine, session, say_on_stderr, return_limit(os.environ))
    every_note: list[list[str]] = []
    for index in sorted(done):
        result, notes = done[index]
        report.entries.append(CheckEntry(checks[index][0].service, result))
        report.notes.extend(n for n in notes if n not in report.notes)
        every_note.append(list(notes))
    return every_note
