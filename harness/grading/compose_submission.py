"""A submission's `compose.yaml`: read, refused where a grader must not run it, and graded through
compose's own actions on a private copy of its database service.

The refusals are `run.txt`'s, for every service of the file: `privileged`, the Docker socket, host
namespaces (`pid`, `ipc`, `network_mode`), `cap_add`, `devices`, `security_opt`, a host path
outside the submission, and any key this reading does not know, each named. Only the database
service runs (as `compose-check` runs it): the submission's files are never written, its named
volumes are the copy's own, its bind sources are copied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.containers.compose import Compose, compose_binary
from harness.errors import HarnessError
from harness.grading.lab import SurvivalCheck
from harness.grading.results import CheckResult, Status
from harness.grading.run_line import SOCKET_PATHS, Refused
from harness.grading.stand_ins import StandIn
from harness.grading.survival import refused_result, survival_passed, wrong_kind
from harness.grading.workspace import LOG_MAX_SIZE, MEMORY_LIMIT, PIDS_LIMIT, Workspace
from harness.model.outcomes import Outcome
from harness.model.platforms.compose import COMPOSE_ACTIONS
from harness.model.platforms.compose_check import CHECK_ACTIONS, ServiceChoice
from harness.model.servers.image_variables import Unusable
from harness.persistence.compose_check import (
    CheckedService,
    read_service,
    run_check_cell,
)

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_TOP_KEYS = frozenset({"version", "name", "services", "volumes", "networks", "secrets"})
_SERVICE_KEYS = frozenset({
    "image", "command", "environment", "env_file", "volumes", "tmpfs", "ports", "expose",
    "secrets", "restart", "container_name", "healthcheck", "depends_on", "networks", "labels",
    "hostname", "stop_grace_period",
})  # fmt: skip
# Keys a grader never runs, and what to do instead.
_REFUSED_KEYS = {
    "privileged": "`privileged` is not allowed in a submission",
    "cap_add": "`cap_add` is not allowed in a submission",
    "devices": "`devices` is not allowed in a submission",
    "security_opt": "`security_opt` is not allowed in a submission",
    "pid": "`pid` (a host namespace) is not allowed in a submission",
    "ipc": "`ipc` (a host namespace) is not allowed in a submission",
    "network_mode": "`network_mode` is not allowed in a submission; use `networks:`",
    "userns_mode": "`userns_mode` is not allowed in a submission",
    "volumes_from": "`volumes_from` is not allowed in a submission; give the service its own "
    "volume",
    "build": "`build` is not graded in a compose lab; use `image:`",
}
# A grader's limits, over whatever the file says.
LIMITS = {
    "mem_limit": MEMORY_LIMIT,
    "pids_limit": PIDS_LIMIT,
    "logging": {"driver": "json-file", "options": {"max-size": LOG_MAX_SIZE}},
}


class ComposeUngradable(HarnessError):
    """The file cannot become a graded database service (one sentence)."""


@dataclass(frozen=True)
class GradedProject:
    """The submission's database service, ready for the engine."""

    file: Path
    model: Mapping[str, Any]  # as Compose reads it
    checked: CheckedService
    stand_in: StandIn
    compose: Compose


def compose_file_of(root: Path) -> Path | None:
    return next((root / name for name in COMPOSE_FILES if (root / name).is_file()), None)


def read_submission_file(file: Path) -> dict[str, Any]:
    """The file's YAML, refused (one sentence) where a grader must not run it."""
    try:
        raw = yaml.safe_load(file.read_text(errors="replace"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise Refused(f"{file.name}{where} is not valid YAML; check its indentation.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise Refused(f"{file.name} has no `services:` mapping.")
    unknown = sorted(str(k) for k in raw if k not in _TOP_KEYS)
    if unknown:
        raise Refused(f"{file.name}'s top-level key `{unknown[0]}` is not supported in a lab.")
    for name, service in raw["services"].items():
        _check_service(file, str(name), service if isinstance(service, dict) else {})
    for name, volume in (raw.get("volumes") or {}).items():
        if isinstance(volume, dict) and (volume.get("driver_opts") or volume.get("driver")):
            raise Refused(f"the volume `{name}` sets a driver; a lab's volumes use the default.")
    for name, secret in (raw.get("secrets") or {}).items():
        if isinstance(secret, dict) and secret.get("file"):
            _inside(file.parent, str(secret["file"]), f"the secret `{name}`")
    return raw


def _check_service(file: Path, name: str, service: Mapping[str, Any]) -> None:
    for key in service:
        if key in _REFUSED_KEYS:
            raise Refused(f"service {name}: {_REFUSED_KEYS[key]}.")
        if key not in _SERVICE_KEYS:
            raise Refused(f"service {name}: the key `{key}` is not supported in a lab.")
    env_files = service.get("env_file") or []
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        path = env_file.get("path") if isinstance(env_file, dict) else env_file
        _inside(file.parent, str(path), f"service {name}'s env_file")
    for volume in service.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        if source and str(source).startswith((".", "/", "~")):
            _inside(file.parent, str(source), f"service {name}'s volume")


def _inside(root: Path, raw: str, what: str) -> None:
    if raw in SOCKET_PATHS or raw.endswith(".sock"):
        raise Refused(f"{what} mounts the Docker socket ({raw}), which is not allowed.")
    if raw.startswith("~"):
        raise Refused(f"{what} names {raw}, outside the submission; use a path in it (./data).")
    path = (root / raw).resolve()
    if not path.is_relative_to(root.resolve()):
        raise Refused(
            f"{what} names {raw}, which lies outside the submission; use a named volume or a "
            "directory inside the submission (./data)."
        )


def prepare_project(workspace: Workspace, file: Path) -> GradedProject:
    """The file's one database service, with the stand-in that plays it and whom the grader
    logs in as; Refused or ComposeUngradable (one sentence) otherwise."""
    file = file.resolve()
    raw = read_submission_file(file)
    compose = Compose(compose_binary(), workspace.engine.docker_host)
    done = compose.run(["-f", str(file), "config", "--format", "json"], cwd=file.parent)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ComposeUngradable(f"{file.name} is not a compose file Compose accepts: {last}")
    model = json.loads(done.stdout)
    stand_ins = {
        name: stand_in
        for name, service in model["services"].items()
        if (stand_in := workspace.stand_ins.for_image(str(service.get("image") or "")))
    }
    if len(stand_ins) != 1:
        raise ComposeUngradable(
            f"{file.name} has {len(stand_ins)} mysql, mariadb or postgres services; this lab "
            "grades exactly one."
        )
    ((name, stand_in),) = stand_ins.items()
    choice = ServiceChoice(name, stand_in.database, stand_in.ref, stand_in.other_major)
    checked = read_service(workspace.engine, model, raw, choice, LIMITS)
    if isinstance(checked, Unusable):
        raise ComposeUngradable(checked.sentence(f"{file.name}'s service {name}"))
    return GradedProject(file, model, checked, stand_in, compose)


def grade_project_survival(
    check: SurvivalCheck, project: GradedProject, workspace: Workspace
) -> CheckResult:
    """Each listed action through compose on a fresh private copy; the first that does not
    give the required outcome fails the check, with why in the words of the lesson."""
    required = Outcome.SURVIVES if check.kind == "persists" else Outcome.LOST
    stood_in = f" ({project.stand_in.describe()})"
    holds = project.file.name
    wrong = wrong_kind(check, CHECK_ACTIONS, "a `docker run` action", "a run.txt", holds)
    if wrong:
        return wrong
    for action in check.actions:
        workspace.check_cancelled()
        session = workspace.scope(check.id, action)
        result, _ = run_check_cell(
            workspace.engine, session, project.compose, project.model, project.checked, action
        )
        command = COMPOSE_ACTIONS[action].command
        if result.error:
            message = f"{action} (`{command}`): {result.error}{stood_in}"
            return CheckResult(check.id, check.points, Status.ERROR, message, check.hint)
        if result.observed is Outcome.REFUSED:
            return refused_result(check, action, result.detail, project.stand_in)
        if result.observed is not required:
            read = f"{result.rows_read} of {result.rows_written} rows read back"
            if required is Outcome.SURVIVES:
                why = f"; {result.detail}" if result.detail else ""
                what = f"the Persons rows were lost ({read}{why})"
            else:
                what = f"the Persons rows were still there ({read}), but this check wants them lost"
            message = f"After {action} (`{command}`) {what}: {result.reason}.{stood_in}"
            return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)
    return survival_passed(check, stood_in)
