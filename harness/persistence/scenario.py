"""A scenario: (database, storage mode, lifecycle action) -> what happened to the rows.

The matrix and `check_persistence` run the same steps; they differ only in where the container
comes from (a core testcontainers container of the chosen image, or the user's own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from testcontainers.core.container import DockerContainer

from harness.containers.database import database_container
from harness.containers.deployment import Deployment
from harness.containers.engine import Engine, Session
from harness.containers.managed import spec_of
from harness.errors import EngineRefused, HarnessError, NotReady, UsageError, described
from harness.images.sources import UpgradeImages
from harness.model.cells import Cell, ScenarioResult
from harness.model.faults import CellSteps
from harness.model.holders import ObservedMount
from harness.model.outcomes import Outcome
from harness.model.platforms.actions import ACTIONS, Action
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DATABASES
from harness.model.servers.persons import (
    PERSONS_ROWS,
    DbConnection,
    Observation,
    observe,
    write_persons,
)
from harness.model.servers.refusals import refusal_reason, refused_sentence, says_refusal
from harness.persistence.fault_causes import failure_cause, judge_finished, judged_cell
from harness.persistence.initialised import InitialisedImages

# Enough of a refusing server's log to hold its reason (PostgreSQL writes a handful of lines).
REFUSAL_LOG_LINES = 40


class PlacementError(HarnessError):
    """The data directory is not where the storage mode should have put it: no valid verdict."""


def run_scenario(  # noqa: PLR0917 - a cell, where, on what, as whom
    engine: Engine,
    session: Session,
    cell: Cell,
    image: str,
    creds: Credentials,
    upgrade: UpgradeImages | None = None,
    initialised: InitialisedImages | None = None,
) -> ScenarioResult:
    """One matrix cell on `image`, configured as the official image's contract says. An upgrade
    cell writes with `upgrade.old_ref` and recreates with `upgrade.new_ref` instead. With
    `initialised`, the cell starts from the run's initialised copy of that image where its
    storage takes its first content from the image (the verdicts are the same; it is faster)."""
    first = upgrade.old_ref if upgrade and ACTIONS[cell.action].upgrades else image
    profile = DATABASES[cell.database]
    if initialised is not None:
        try:
            first = initialised.image_for(
                engine, session, first, profile, STORAGE_MODES[cell.storage]
            )
        except Exception as error:  # no verdict, for the reason the initialisation gives
            # As run_cell: an engine's refusal (a failed build or commit) is the cell's error,
            # not a traceback that ends the whole run.
            failed = planned(engine, cell, upgrade)
            failed.error = preparation_cause(engine, session, error, creds)
            return failed
    result: ScenarioResult | None = None
    try:
        with database_container(engine, session, first, profile, creds) as container:
            result = run_cell(engine, session, cell, container, creds, upgrade)
    except Exception as error:  # making or removing the secrets' volume: the engine's failure
        if result is None:  # a verdict already made stands: the rows were read back
            result = planned(engine, cell, upgrade)
            result.error = preparation_cause(engine, session, error, creds)
    return result


def preparation_cause(
    engine: Engine, session: Session, error: Exception, creds: Credentials
) -> str:
    """The error of a cell that failed before its first container: the engine gone, or what
    the engine said."""
    return failure_cause(engine, session, CellSteps(), redact(described(error), creds.secrets))


def run_cell(  # noqa: PLR0917 - a cell, where, on what, as whom
    engine: Engine,
    session: Session,
    cell: Cell,
    container: DockerContainer,
    creds: Credentials,
    upgrade: UpgradeImages | None = None,
) -> ScenarioResult:
    """Write the Persons rows, apply the action, read back; everything made is removed after.

    `container` is an unstarted testcontainers container; it is copied, never started itself.
    An upgrade cell needs `upgrade`: the next version's image and the line whose promise holds.
    """
    action = ACTIONS[cell.action]
    if action.upgrades and upgrade is None:
        raise UsageError(
            f"{cell.id} needs two versions of {cell.database}; there is no upgrade for its image."
        )
    result = planned(engine, cell, upgrade)
    scope = session.scoped(cell.id)
    profile = DATABASES[cell.database]
    deployment = Deployment(
        engine,
        scope,
        profile,
        creds,
        STORAGE_MODES[cell.storage],
        container,
        spec_of(container),
        upgrade.new_ref if upgrade else None,
    )

    def cause(seen: str) -> str:
        return failure_cause(engine, scope, deployment.steps, seen)

    with judged_cell(result, creds.secrets, cause):
        try:
            with deployment:
                record(result, exercise(deployment, action, check_placement=True))
        except EngineRefused as refusal:
            if result.observed is not None:
                raise  # the cleanup's: the rows were read back, the verdict stands
            # An observation: the engine's answer to this configuration is "no" (Podman 4
            # refuses some), which the promise table can expect; not a harness failure.
            result.observed = Outcome.REJECTED
            result.detail = redact(str(refusal), creds.secrets)
            return result
    judge_finished(engine, scope, deployment.steps, result)
    return result


def record(result: ScenarioResult, trial: Trial) -> None:
    """What the trial found, into the cell's result (before the cleanup, which may still fail:
    the rows were read back, so the verdict stands)."""
    result.rows_written = trial.rows_written
    result.observed = trial.observation.outcome
    result.rows_read = trial.observation.rows_read
    result.detail = trial.observation.detail
    result.mounts = trial.mounts
    result.dangling_volumes = trial.dangling_volumes
    result.dangling_with_data = trial.dangling_with_data


def planned(engine: Engine, cell: Cell, upgrade: UpgradeImages | None) -> ScenarioResult:
    """The cell's result before it runs, on any platform: what its promise table expects, and
    why."""
    promise = cell.planned(engine.info, upgrade.line if upgrade else None)
    result = ScenarioResult(
        cell=cell, expected=promise.outcome, reason=promise.reason, verified=promise.verified
    )
    if upgrade and cell.upgrades:
        result.upgrade_from, result.upgrade_to = upgrade.old_ref, upgrade.new_ref
    return result


def without_verdict(
    engine: Engine, cell: Cell, upgrade: UpgradeImages | None, why: str
) -> ScenarioResult:
    """A cell that cannot run (its engine gone), on any platform: what its table promises, and
    why there is no verdict."""
    result = planned(engine, cell, upgrade)
    result.error = why
    return result


@dataclass(frozen=True)
class Trial:
    """What one action did to the Persons rows of one deployment."""

    rows_written: int
    observation: Observation
    data_dir: str  # where the first server kept its data
    data_mount: ObservedMount | None  # what held it (None: the writable layer)
    mounts: str  # the last container's mounts, described
    dangling_volumes: list[str]
    dangling_with_data: list[str]


def exercise(d: Deployment, action: Action, *, check_placement: bool) -> Trial:
    """Start the first container, write the rows, apply the action, read the rows back.

    With `check_placement`, the data directory must be where the storage mode intends (before
    and, when the action recreates storage, after), or there is no verdict.
    """
    profile, steps = d.profile, d.steps
    steps.begin("the start of the first container")
    d.start_new()
    try:
        first = d.connect()
    except NotReady:
        # A configuration the server will not start with is the cell's outcome, not a failure.
        log = redact(d.container.logs(REFUSAL_LOG_LINES), d.creds.secrets)
        refusal = refused_at_start(d.container.state(), log)
        if refusal is None:
            raise
        return Trial(0, refusal, "", None, d.describe_mounts(), [], [])
    with closing(first) as connection:
        steps.begin("the write of the Persons rows")
        data_dir, data_mount = locate_data(d, connection)
        if check_placement:
            verify_placement(d, data_dir, data_mount)
        verify_linked_parts(d, data_dir, data_mount)
        rows_written = write_persons(connection)
    steps.begin(f"the {action.name} action", acting=True)
    d.perform(action)
    steps.begin("the read-back of the rows")
    if action.upgrades:
        observation = observe_upgrade(d)
    else:
        observation = observe(profile.classify_missing, d.connect, PERSONS_ROWS)
    if check_placement and action.recreates_storage:
        with closing(d.connect()) as connection:
            verify_placement(d, *locate_data(d, connection))
    steps.begin("the count of dangling volumes")
    dangling = d.dangling_volumes()
    return Trial(
        rows_written=rows_written,
        observation=observation,
        data_dir=data_dir,
        data_mount=data_mount,
        mounts=d.describe_mounts(),
        dangling_volumes=dangling,
        dangling_with_data=[v for v in dangling if v in d.data_volumes],
    )


def observe_upgrade(d: Deployment) -> Observation:
    """The rows as the next major version finds them; a server that will not start on them is
    `refused`, which holds only if the old version, put back on the same storage, still reads
    every row (else they are lost, and the detail says how)."""
    try:
        return observe(d.profile.classify_missing, d.connect, PERSONS_ROWS)
    except NotReady:
        if d.container.state().get("Status") not in ("exited", "dead"):
            raise  # not a refusal: a server that never answered
    # A server's log is the user's to read; the run's passwords are still masked in it.
    log = redact(d.container.logs(REFUSAL_LOG_LINES), d.creds.secrets)

    def put_back() -> Observation:
        d.steps.begin("putting the old version back", acting=True)
        d.start_new()  # the old version's image, on the same storage
        return observe(d.profile.classify_missing, d.connect, PERSONS_ROWS)

    return refused_or_lost(log, put_back)


def refused_at_start(state: Mapping[str, Any], log: str) -> Observation | None:
    """A server that exited before it ever answered, its log saying why: `refused`, in its own
    words and the fix. None when the exit is not the server's refusal (still running, stopped or
    killed from outside, out of memory, or no refusal in its log): that cell gets no verdict."""
    exited = state.get("Status") in ("exited", "dead")
    code = state.get("ExitCode")
    # A refusal exits non-zero of its own accord. 0 is a stop from outside (PostgreSQL's fast
    # shutdown logs "FATAL: terminating connection"), 137 and 143 a kill, OOMKilled the kernel.
    stopped = code in (0, 137, 143) or bool(state.get("OOMKilled"))
    if not exited or stopped or not says_refusal(log):
        return None
    return Observation(Outcome.REFUSED, 0, refused_sentence(refusal_reason(log)))


def refused_or_lost(log: str, put_back: Callable[[], Observation]) -> Observation:
    """A new version would not start on the rows (its `log` says why): `refused` only if the
    old version, put back on the same storage, still reads every row; else they are lost, and
    the detail says how. Every upgrade path (the matrix, compose) judges it here."""
    reason = refusal_reason(log).rstrip(".")
    back = put_back()
    if back.outcome is Outcome.SURVIVES:
        detail = f"{reason}; put back, the old version read all {back.rows_read} rows"
        return Observation(Outcome.REFUSED, back.rows_read, detail)
    detail = f"{reason}; put back, the old version found {back.detail or 'the rows gone'}"
    return Observation(Outcome.LOST, back.rows_read, detail)


def locate_data(d: Deployment, connection: DbConnection) -> tuple[str, ObservedMount | None]:
    """The server's real data directory, and the mount holding it."""
    actual = d.profile.data_directory(connection)
    mount = d.data_mount(actual)
    if mount and mount.name in d.anonymous_volumes:
        d.data_volumes.add(mount.name)
    return actual, mount


def verify_linked_parts(d: Deployment, data_dir: str, mount: ObservedMount | None) -> None:
    """Every part of the data a variable puts outside the data directory (postgres's WAL) must
    be on the data directory's own mount: else one survives without the other, and neither
    "survives" nor "lost" would be true. Read from the container's configuration (no exec: on
    Podman an exec session's monitor outlives it by minutes)."""
    env = d.container.environment()
    for what, variable in d.profile.linked_parts.items():
        path = env.get(variable)
        if not path:
            continue
        part_mount = d.data_mount(path)
        if _destination(part_mount) == _destination(mount):
            continue
        raise PlacementError(
            f"{d.profile.name} keeps its data in {data_dir} but its {what} in {path} "
            f"({variable}), {_on(part_mount)}, not on the mount that holds the data "
            f"({_on(mount)}), so the scenario cannot give a verdict; keep the {what} inside the "
            "data's mount."
        )


def _destination(mount: ObservedMount | None) -> str | None:
    return mount.destination if mount else None


def _on(mount: ObservedMount | None) -> str:
    return f"on the {mount.kind} at {mount.destination}" if mount else "in the writable layer"


def verify_placement(d: Deployment, data_dir: str, mount: ObservedMount | None) -> None:
    """The server's real data directory must be on the mount the storage mode intends."""
    problem = d.storage.placement_problem(mount, d.resource)
    if problem:
        raise PlacementError(
            f"{d.profile.name} keeps its data in {data_dir}, but {problem} "
            f"(mounts: {d.describe_mounts()}); the scenario cannot give a verdict."
        )
