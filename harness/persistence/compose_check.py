"""One `compose-check` cell: a private copy of a user's database service, the Persons rows, one
compose action, the rows read back.

The copy runs under a project name of the run's, in a scratch directory, with the run's labels:
the user's own project (its containers, volumes, networks and files) is never touched. An
`external` volume is played by a volume the harness makes; a bind source by a scratch directory
(empty where it holds the data, a copy of the user's file or directory otherwise).
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.containers.addressing import compose_ports_entry
from harness.containers.compose import Compose
from harness.containers.engine import Engine, Session
from harness.containers.run_state import RunState
from harness.model.cells import Cell, ScenarioResult
from harness.model.placement import ImageFacts, covers
from harness.model.platforms.compose_check import (
    DatabaseService,
    PrivateCopy,
    Replacements,
    ServiceChoice,
    database_service,
    expectation,
    private_copy,
    read_text,
    server_environment,
)
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.servers.image_variables import (
    Unusable,
    contract_for,
    harness_additions,
    read_credentials,
)
from harness.persistence.compose_scenario import PROJECT_FILE, ComposeRun, ExpectedMount, exercise
from harness.persistence.fault_causes import (
    failure_cause,
    judge_finished,
    judged_cell,
    not_across_majors,
)


def read_service(
    engine: Engine,
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    choice: ServiceChoice,
    limits: Mapping[str, Any] | None = None,
) -> CheckedService | Unusable:
    """The service as the harness runs it: where its data is (read with the image that runs),
    whom the harness logs in as (the file's credentials, `*_FILE` secrets read), and what it
    adds; Unusable when the file's credentials cannot be used."""
    facts = ImageFacts.from_config(choice.runs, engine.image_attrs(choice.runs)["Config"])
    env = server_environment(model, choice.name, read_text)
    service = database_service(model, raw, choice, facts, env)
    added = harness_additions(service.image, choice.database, env)
    creds = read_credentials(contract_for(service.image, choice.database), {**env, **added})
    if isinstance(creds, Unusable):
        return creds
    return CheckedService(service, creds, added, limits or {})


@dataclass(frozen=True)
class CheckedService:
    """A database service of the user's file, ready to run: its reading, whom the harness logs
    in as, and what the harness adds to its environment (which contract a stand-in plays, a
    database to write into when the file names none)."""

    service: DatabaseService
    creds: Credentials
    environment: Mapping[str, str]
    limits: Mapping[str, Any] = field(default_factory=dict)  # service keys the harness sets


def run_check_cell(  # noqa: PLR0917 - the engine, the run, the file, the service, the action
    engine: Engine,
    session: Session,
    compose: Compose,
    model: Mapping[str, Any],
    checked: CheckedService,
    action: str,
) -> tuple[ScenarioResult, list[str]]:
    """Run `action` on a private copy of the service; every failure becomes a result without a
    verdict, with its cause. Also: what the copy did differently from the file, in sentences."""
    service = checked.service
    expected = expectation(service, action)
    result = ScenarioResult(
        Cell(service.database, service.holder.storage, action, "compose"),
        expected.outcome,
        expected.reason,
    )
    run = _new_run(engine, session, compose, service.name, action)
    notes: list[str] = []

    def cause(seen: str) -> str:
        return failure_cause(engine, session, run.steps, seen)

    with judged_cell(result, checked.creds.secrets, cause), _torn_down(run, service.runs, session):
        notes = _write_copy(run, session, model, checked).notes
        exercise(
            run, action, DATABASES[service.database], checked.creds, result,
            _expected_mount(run, service),
        )  # fmt: skip
    judge_finished(engine, session, run.steps, result)
    not_across_majors(result, service.other_major)
    return result, notes


@contextlib.contextmanager
def _torn_down(run: ComposeRun, image: str, session: Session) -> Iterator[None]:
    """The private copy removed after the check, whatever happened. A failure to remove it never
    hides the check's own failure; alone, it leaves a verdict made standing (the rows were read
    back) and is the cause of a check that had none."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            run.close(image, session.labels)
        raise
    run.close(image, session.labels)


def _new_run(
    engine: Engine, session: Session, compose: Compose, service: str, action: str
) -> ComposeRun:
    state = RunState.of(session)
    # Under the run's state: `clean` removes it (and the bind's files) after a SIGKILL too.
    directory = state.new_directory("scratch", "compose-check-")
    # A project name of the run's: lower-case letters, digits, `-` and `_` only.
    # A scoped session (one student's, in grading) keeps parallel projects apart.
    name = f"harness-{session.id}-{session.scope or 'check'}-{service}-{action}".lower()
    project = re.sub(r"[^a-z0-9_-]", "-", name)
    return ComposeRun(engine, compose, directory, project, state, service)


def _expected_mount(run: ComposeRun, service: DatabaseService) -> ExpectedMount:
    holder = service.holder
    volume = None
    key = holder.volume_key
    if key and (holder.storage == "external" or holder.fixed_name):
        volume = _fixed_name(run, key)  # the name the harness gave the volume playing it
    elif key and holder.storage == "named":
        volume = f"{run.project}_{key}"  # compose's own prefix
    return ExpectedMount(service.name, holder.storage, volume)


def _fixed_name(run: ComposeRun, key: str) -> str:
    return f"{run.project}-{key}"


def _write_copy(
    run: ComposeRun, session: Session, model: Mapping[str, Any], checked: CheckedService
) -> PrivateCopy:
    """The copy's file and everything it names, made on disk and on the engine."""
    service = checked.service
    declared = model["services"][service.name]
    volumes: Mapping[str, Any] = model.get("volumes") or {}
    used = {m.get("source") for m in declared.get("volumes") or [] if m.get("type") == "volume"}
    external = {}
    for key in sorted(k for k in used if k and (volumes.get(k) or {}).get("external")):
        name = run.engine.create_volume(_fixed_name(run, key), session.labels)
        run.external_volumes.append(name)
        external[key] = name
    fixed = {
        key: _fixed_name(run, key)
        for key in sorted(k for k in used if k and k not in external)
        if service.holder.fixed_name and key == service.holder.volume_key
    }
    engine = run.engine
    copy = private_copy(
        model,
        service.name,
        Replacements(
            image=service.runs,
            publish=compose_ports_entry(engine, DATABASES[service.database].port),
            labels=session.labels,
            external_volumes=external,
            fixed_volume_names=fixed,
            bind_sources=_scratch_binds(run, declared, service.data_dir),
            environment=checked.environment,
            limits=checked.limits,
        ),
    )
    path = run.directory / PROJECT_FILE
    path.touch(mode=0o600)  # it holds the file's passwords: readable by this user alone
    path.write_text(yaml.safe_dump(copy.file, sort_keys=False))
    return copy


def _scratch_binds(
    run: ComposeRun, declared: Mapping[str, Any], data_dir: str
) -> dict[str, str | None]:
    """Each bind source of the service -> what stands in for it: an empty directory where it
    holds the data, a copy of the user's file or directory otherwise (never the original, which
    the server could write), None for what cannot be copied (a socket, a device)."""
    binds: dict[str, str | None] = {}
    for number, mount in enumerate(declared.get("volumes") or []):
        if mount.get("type") != "bind":
            continue
        source = Path(str(mount["source"]))
        scratch = run.directory / "binds" / str(number)
        if covers(str(mount["target"]), data_dir) or not source.exists():
            scratch.mkdir(parents=True)
            run.data_binds.append(scratch)
        elif source.is_dir():
            shutil.copytree(source, scratch, symlinks=True)
        elif source.is_file():
            scratch.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch)
        else:
            binds[str(source)] = None
            continue
        binds[str(source)] = str(scratch)
    return binds
