"""`persists` and `loses`: the student's own container through the matrix's actions.

Each listed action is one trial on a fresh copy of the student's configuration: start it, write
the Persons rows, apply the action as the matrix does, read the full row set back. The storage
is the student's own ("as given"): their named volumes (renamed per trial and labelled, so no
submission sees another's), their binds (inside a scratch copy of the submission), their tmpfs,
or nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from testcontainers.core.container import DockerContainer

from harness.containers.deployment import Deployment
from harness.containers.run_state import RunState
from harness.errors import HarnessError, described
from harness.grading.lab import SurvivalCheck
from harness.grading.results import CheckResult, Status
from harness.grading.run_line import Refused, RunLine
from harness.grading.stand_ins import StandIn, StandIns
from harness.grading.submission import scratch_copy
from harness.grading.workspace import (
    LOG_MAX_SIZE,
    MEMORY_LIMIT,
    PIDS_LIMIT,
    GradingCancelled,
    Workspace,
)
from harness.model.faults import CellSteps, verdict_struck_from_outside
from harness.model.holders import ObservedMount
from harness.model.outcomes import Outcome
from harness.model.placement import covers
from harness.model.platforms.actions import ACTIONS
from harness.model.platforms.storage import Resource, StorageMode
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.image_variables import (
    Unusable,
    contract_for,
    harness_additions,
    read_credentials,
)
from harness.model.spec import ContainerSpec, Mount, MountKind
from harness.persistence.fault_causes import failure_cause, outside_cause
from harness.persistence.scenario import Trial, exercise

# The student's mounts exactly as typed: no mount is added, none is checked against a mode.
AS_GIVEN = StorageMode(
    "as-given", "the submission's own mounts", Resource.NONE, promises={}, holder=None
)


class Ungradable(HarnessError):
    """The run line cannot become a database container (no password, an unknown image)."""


@dataclass(frozen=True)
class GradedContainer:
    """The student's run line, ready for the engine."""

    profile: DatabaseProfile
    spec: ContainerSpec
    creds: Credentials
    stand_in: StandIn
    submission_root: Path  # binds below it are re-rooted in each trial's scratch copy


def prepare(line: RunLine, stand_ins: StandIns, submission_root: Path) -> GradedContainer:
    """Refused or Ungradable (one sentence) unless the line can run as a graded database."""
    spec = line.spec
    if spec.volumes_from:
        raise Refused(
            "--volumes-from names a container the submission does not create; give the "
            "container its own volume."
        )
    stand_in = stand_ins.for_image(spec.image)
    if stand_in is None:
        raise Ungradable(
            f"run.txt runs the image {spec.image}; this lab grades mysql, mariadb or postgres "
            "containers."
        )
    profile = DATABASES[stand_in.database]
    env = {**spec.env, **harness_additions(stand_in.typed, stand_in.database, spec.env)}
    creds = read_credentials(contract_for(stand_in.typed, profile.name), env)
    if isinstance(creds, Unusable):
        raise Ungradable(creds.sentence("run.txt"))
    # The grader reaches the server on its own published port and names its own containers.
    graded = replace(spec, image=stand_in.ref, env=env, ports=(), name=None)
    return GradedContainer(profile, graded, creds, stand_in, submission_root.resolve())


def grade_survival(
    check: SurvivalCheck, graded: GradedContainer, workspace: Workspace
) -> CheckResult:
    required = Outcome.SURVIVES if check.kind == "persists" else Outcome.LOST
    stood_in = f" ({graded.stand_in.describe()})"
    wrong = wrong_kind(check, tuple(ACTIONS), "a compose action", "a compose.yaml", "run.txt")
    if wrong:
        return wrong
    for action in check.actions:
        workspace.check_cancelled()
        steps = CellSteps()
        try:
            trial, volumes = _trial(graded, action, workspace, check.id, steps)
        except (GradingCancelled, KeyboardInterrupt):
            raise
        except Exception as error:  # the trial could not run: no verdict, never a crash
            text = redact(described(error),
                          graded.creds.secrets)  # fmt: skip
            cause = failure_cause(workspace.engine, workspace.scope(check.id, action), steps, text)
            return CheckResult(
                check.id, check.points, Status.ERROR, f"{action}: {cause}{stood_in}", check.hint
            )
        struck = outside_cause(workspace.engine, workspace.scope(check.id, action), steps)
        if struck:  # the rows went through more than the action: neither points nor blame
            message = f"{action}: {verdict_struck_from_outside(struck)}{stood_in}"
            return CheckResult(check.id, check.points, Status.ERROR, message, check.hint)
        if trial.observation.outcome is Outcome.REFUSED:
            return refused_result(check, action, trial.observation.detail, graded.stand_in)
        if trial.observation.outcome is not required:
            message = _failure(action, trial, volumes, required)
            message += _misplaced(graded, trial.data_dir, trial.data_mount) + stood_in
            return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)
    return survival_passed(check, stood_in)


def refused_result(
    check: SurvivalCheck, action: str, detail: str | None, stand_in: StandIn
) -> CheckResult:
    """The server would not start as the student configured it: 0 points, with its words and
    the fix; no verdict when the stand-in is another major than the one typed (a configuration
    one major refuses, another may accept)."""
    said = detail or "the server refused to start"
    if stand_in.other_major:
        message = (
            f"{action}: {said}; but {stand_in.other_major}, so no points are given or taken "
            f"for it ({stand_in.describe()})"
        )
        return CheckResult(check.id, check.points, Status.ERROR, message, check.hint)
    message = f"Before {_typed(action)}: {said} ({stand_in.describe()})."
    return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)


def wrong_kind(
    check: SurvivalCheck, known: tuple[str, ...], kind: str, grades: str, holds: str
) -> CheckResult | None:
    """A failed result when the check lists an action the submission's kind has not (a compose
    action for a run.txt, a `docker run` one for a compose.yaml), else None."""
    foreign = [a for a in check.actions if a not in known]
    if not foreign:
        return None
    message = (
        f"{foreign[0]} is {kind}: this check grades {grades}, and the submission holds {holds}."
    )
    return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)


def survival_passed(check: SurvivalCheck, stood_in: str) -> CheckResult:
    actions = " and ".join(check.actions)
    if check.kind == "persists":
        message = f"The Persons rows survived {actions}: every row read back each time."
    else:
        message = f"The Persons rows were lost after {actions}, as this check requires."
    return CheckResult(check.id, check.points, Status.PASSED, message + stood_in)


def _trial(
    graded: GradedContainer, action: str, workspace: Workspace, check_id: str, steps: CellSteps
) -> tuple[Trial, Mapping[str, str]]:
    """One action on a fresh copy of the configuration; the renamed volumes (engine -> typed)."""
    session = workspace.scope(check_id, action)
    engine = workspace.engine
    with scratch_copy(workspace.submission, RunState.of(workspace.session)) as scratch:
        spec, volumes = _for_trial(graded, session.id + "-" + (session.scope or ""), scratch)
        for volume in volumes:
            engine.create_volume(volume, session.labels)
        binds = [Path(m.source) for m in spec.mounts if m.kind is MountKind.BIND]
        for directory in binds:
            directory.mkdir(parents=True, exist_ok=True)  # `-v ./data:...` creates it too
        pristine = DockerContainer(spec.image).with_kwargs(
            mem_limit=MEMORY_LIMIT,
            pids_limit=PIDS_LIMIT,
            network=workspace.network,
            log_config={"type": "json-file", "config": {"max-size": LOG_MAX_SIZE}},
        )
        deployment = Deployment(
            engine, session, graded.profile, graded.creds, AS_GIVEN, pristine, spec
        )
        deployment.steps = steps  # the caller names the step a failure happened in
        try:
            trial = exercise(deployment, ACTIONS[action], check_placement=False)
        except BaseException:
            # The trial's own failure is the one to report (the engine gone, say); what the
            # cleanup cannot remove goes at the run's end, or with `clean`.
            with contextlib.suppress(Exception):
                _clean_trial(deployment, binds)
            raise
        _clean_trial(deployment, binds)
        return trial, volumes


def _clean_trial(deployment: Deployment, binds: list[Path]) -> None:
    # Torn down first, so no server still writes into the binds being emptied.
    deployment.tear_down()
    for directory in binds:  # the server's files are its uid's, not ours
        if directory.is_dir():
            deployment.empty_as_root(str(directory))


def _for_trial(
    graded: GradedContainer, prefix: str, scratch: Path
) -> tuple[ContainerSpec, dict[str, str]]:
    """Named volumes renamed under this trial's prefix; binds moved into the scratch copy."""
    volumes: dict[str, str] = {}
    mounts: list[Mount] = []
    for mount in graded.spec.mounts:
        if mount.kind is MountKind.VOLUME and mount.source:
            renamed = f"harness-{prefix}-{mount.source}"
            volumes[renamed] = mount.source
            mounts.append(replace(mount, source=renamed))
        elif mount.kind is MountKind.BIND:
            relative = Path(mount.source).relative_to(graded.submission_root)
            mounts.append(replace(mount, source=str(scratch / relative)))
        else:
            mounts.append(mount)
    return replace(graded.spec, mounts=tuple(mounts)), volumes


def _where(mount: ObservedMount | None, volumes: Mapping[str, str]) -> str:
    """Where the data directory was, in the words of the lesson."""
    if mount is None:
        return "in the container's writable layer (no volume covers it)"
    if mount.kind == "tmpfs":
        return "on a tmpfs, which lives in memory"
    if mount.kind == "bind":
        return "on a bind mount of a submission folder"
    if mount.name in volumes:
        return f"on the named volume {volumes[mount.name]}"
    return "on an anonymous volume (the image's VOLUME), which a new container does not get"


def _failure(action: str, trial: Trial, volumes: Mapping[str, str], required: Outcome) -> str:
    observation = trial.observation
    read = f"{observation.rows_read} of {trial.rows_written} rows read back"
    where = _where(trial.data_mount, volumes)
    if required is Outcome.SURVIVES:
        why = f"; {observation.detail}" if observation.detail else ""
        return (
            f"After {_typed(action)} the Persons rows were lost ({read}{why}): the "
            f"data directory {trial.data_dir} was {where}."
        )
    return (
        f"After {_typed(action)} the Persons rows were still there ({read}), but this "
        f"check wants them lost: the data directory {trial.data_dir} was {where}."
    )


def _misplaced(graded: GradedContainer, data_dir: str, held_by: ObservedMount | None) -> str:
    """The student's own mounts that miss the data directory (the wrong-path mistake), or that
    cover it from above while the image's VOLUME below them took it (the nested-VOLUME trap)."""
    spec = graded.spec
    missing = [
        f"{m.kind.value} {_typed_source(graded, m)} at {m.target}"
        for m in spec.mounts
        if not covers(m.target, data_dir)
    ] + [f"tmpfs at {target}" for target in spec.tmpfs if not covers(target, data_dir)]
    targets = {m.target for m in spec.mounts}
    image_volume = held_by if held_by and held_by.destination not in targets else None
    above = [
        m for m in spec.mounts
        if image_volume and covers(m.target, image_volume.destination)
    ]  # fmt: skip
    said = f" Your {', '.join(missing)} does not hold {data_dir}." if missing else ""
    if above and image_volume:
        held_by, mount = image_volume, above[0]
        said += (
            f" Your {mount.kind.value} {_typed_source(graded, mount)} at {mount.target} sits above "
            f"the image's VOLUME {held_by.destination}, which gets an anonymous volume of its own "
            f"inside it; mount at {held_by.destination} instead."
        )
    return said


def _typed_source(graded: GradedContainer, mount: Mount) -> str:
    if mount.kind is MountKind.BIND:
        return f"./{Path(mount.source).relative_to(graded.submission_root)}"
    return mount.source or "(anonymous)"


def _typed(action: str) -> str:
    """`recreate (stop; rm; run)`: the action and what was typed for it."""
    return f"{action} ({ACTIONS[action].command})"
