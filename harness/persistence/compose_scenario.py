"""One compose-matrix cell: a one-service project, the Persons rows, a compose action, the rows.

The project lives in a scratch directory of its own, under a project name of the run's, with
the run's labels on everything compose makes; afterwards every container, network and volume of
it (and of the renamed project, and the anonymous volumes compose forgot) is removed.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from harness.containers.addressing import compose_ports_entry, endpoint_of
from harness.containers.compose import Compose
from harness.containers.engine import Engine, Session
from harness.containers.managed import observed_mounts
from harness.containers.readiness import wait_until_ready
from harness.containers.retry import Backoff, RetryExhausted, retry
from harness.containers.run_state import RunState
from harness.errors import HarnessError, NotReady, NotRunning
from harness.images.sources import UpgradeImages
from harness.model.cells import Cell, ScenarioResult
from harness.model.faults import CellSteps
from harness.model.holders import Holder, ObservedMount, misplaced, mount_holding
from harness.model.placement import ImageFacts, place
from harness.model.platforms.compose import (
    COMPOSE_ACTIONS,
    COMPOSE_STORAGE,
    unverified_because,
)
from harness.model.platforms.compose_file import BIND_SOURCE, DATA_VOLUME, SERVICE, compose_project
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.persons import (
    PERSONS_ROWS,
    DbConnection,
    Observation,
    observe,
    write_persons,
)
from harness.persistence.fault_causes import failure_cause, judge_finished, judged_cell
from harness.persistence.initialised import InitialisedImages
from harness.persistence.scenario import (
    REFUSAL_LOG_LINES,
    planned,
    preparation_cause,
    refused_at_start,
    refused_or_lost,
)

PROJECT_FILE = "compose.yaml"
# Compose commands after which the next one must find the service's container stopped.
STOPPING_COMMANDS = frozenset({"stop", "kill"})
LISTED_STOPPED_BACKOFF = Backoff(attempts=300, deadline_seconds=30.0, first_wait=0.05, max_wait=0.5)


class ComposeFailed(HarnessError):
    """A compose command exited non-zero (its own last words are in the message)."""


def service_filter(project: str, service: str) -> dict[str, str | list[str] | bool]:
    """The engine's filter for a project's service, by compose's own labels."""
    return {"label": [f"com.docker.compose.project={project}",
                      f"com.docker.compose.service={service}"]}  # fmt: skip


@dataclass
class ComposeService:
    """The running container of a project's service, found by compose's own labels."""

    engine: Engine
    project: str
    service: str = SERVICE
    # The container the last `state()` found, whose ports `endpoint(fresh=False)` reads.
    _seen: Any = field(default=None, repr=False, compare=False)

    def _container(self) -> Any:
        found = self.engine.client.containers.list(
            all=True, filters=service_filter(self.project, self.service)
        )
        if not found:
            raise NotRunning(f"compose project {self.project} has no {self.service} container")
        return found[0]

    @property
    def name(self) -> str:
        return str(self._container().name)

    def endpoint(self, port: int, *, fresh: bool = True) -> tuple[str, int]:
        attrs = (self._container() if fresh or self._seen is None else self._seen).attrs
        name = str(attrs.get("Name", "")).lstrip("/")
        return endpoint_of(
            attrs["NetworkSettings"], port, self.engine, name,
            lambda: urlparse(self.engine.base_url).hostname,
        )  # fmt: skip

    def state(self) -> Mapping[str, Any]:
        self._seen = self._container()
        state: Mapping[str, Any] = self._seen.attrs["State"]
        return state

    def logs(self, tail: int) -> str:
        return bytes(self._container().logs(tail=tail)).decode(errors="replace")

    def mounts(self) -> list[ObservedMount]:
        return observed_mounts(self._container().attrs)


@dataclass
class ComposeRun:
    """One cell's project on disk and on the engine."""

    engine: Engine
    compose: Compose
    directory: Path
    project: str
    state: RunState
    service_name: str = SERVICE
    seen_volumes: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    # What the harness made for the project beforehand, removed with it.
    external_volumes: list[str] = field(default_factory=list)
    data_binds: list[Path] = field(default_factory=list)  # filled by the server as its uid
    # Which step the cell is in, for the cause of a failure and the engine's events.
    steps: CellSteps = field(default_factory=CellSteps)

    def run(self, args: tuple[str, ...], project: str | None = None) -> None:
        name = project or self.project
        self.projects.add(name)
        command = ["-p", name, "-f", str(self.directory / PROJECT_FILE), *args]
        result = self.compose.run(command, cwd=self.directory)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ComposeFailed(f"`docker compose {' '.join(args)}` failed: {last}")

    def started_at(self) -> str:
        """When the service's container last started, as the engine says (before a stop)."""
        service = ComposeService(self.engine, self.project, self.service_name)
        return str(service.state().get("StartedAt", ""))

    def wait_until_listed_stopped(self, after: str, started: str) -> None:
        """Return once the engine's container list no longer shows the run that began at
        `started` as running: it stopped, or a restart policy began a new run.

        `docker compose start` starts only the containers that list calls not running. Docker
        before 28.3 (moby#50133) answers a stop before that list says so, and a kill answers
        before the process is even gone, so a `start` right after skipped the container: seen
        on Docker 26 as a stop-start cell with no verdict. A person typing the next command sees
        the list say "exited" first; the harness waits for the same, and no longer."""
        api = self.engine.client.api
        wanted = service_filter(self.project, self.service_name)

        def listed_stopped() -> None:
            listed = api.containers(all=True, filters=wanted)
            for container in listed:
                if container.get("State") != "running":
                    continue
                state = api.inspect_container(container["Id"])["State"]
                if not (state.get("Running") and state.get("StartedAt") != started):
                    raise NotRunning("the container is still listed as running")

        try:
            retry(listed_stopped, LISTED_STOPPED_BACKOFF, retry_on=(NotRunning,))
        except RetryExhausted:
            raise HarnessError(
                f"The engine still listed service {self.service_name} as running "
                f"{LISTED_STOPPED_BACKOFF.deadline_seconds:.0f} s after `docker compose {after}`; "
                "check the engine's health and run the cell again."
            ) from None

    def set_image(self, image: str) -> None:
        """The service's image in the project's file (what a user edits for an upgrade)."""
        path = self.directory / PROJECT_FILE
        file = yaml.safe_load(path.read_text())
        file["services"][self.service_name]["image"] = image
        path.write_text(yaml.safe_dump(file, sort_keys=False))

    def service(self, project: str | None = None) -> ComposeService:
        """The project's service; its anonymous volumes are recorded in the run's state first,
        so `clean` finds them after a SIGKILL (the engine cannot label them)."""
        service = ComposeService(self.engine, project or self.project, self.service_name)
        with contextlib.suppress(NotRunning):
            volumes = {m.name for m in service.mounts() if m.kind == "volume" and m.name}
            self.state.record_volumes(sorted(volumes - self.seen_volumes))
            self.seen_volumes |= volumes
        return service

    def tear_down(self) -> None:
        for project in sorted(self.projects):
            self.compose.run(
                ["-p", project, "-f", str(self.directory / PROJECT_FILE), "down", "-v",
                 "--remove-orphans", "-t", "1"],
                cwd=self.directory,
            )  # fmt: skip
        for volume in sorted(self.seen_volumes):  # the anonymous ones `down` forgot
            self.engine.remove_volume(volume)

    def close(self, image: str, labels: Mapping[str, str]) -> None:
        """Everything of the project gone: its projects, volumes, bind files and directory."""
        self.steps.finish()
        try:
            self.tear_down()
            for volume in self.external_volumes:
                self.engine.remove_volume(volume)
            for bind in self.data_binds:
                if bind.exists():
                    self.engine.empty_as_root(str(bind), image, labels)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def run_compose_cell(  # noqa: PLR0917 - a cell, where, on what, as whom
    engine: Engine,
    session: Session,
    cell: Cell,
    image: str,
    compose: Compose,
    creds: Credentials | None = None,
    upgrade: UpgradeImages | None = None,
    initialised: InitialisedImages | None = None,
) -> ScenarioResult:
    """Run one compose cell; every failure becomes a result without a verdict, with its cause.
    The `upgrade` action needs `upgrade`, whose old image writes the rows (not `image`). With
    `initialised` (made for `creds`), the service starts from the run's initialised copy of
    `image` where its storage takes its first content from the image, as a `docker run` cell."""
    upgrades = COMPOSE_ACTIONS[cell.action].upgrades
    if upgrades and upgrade is None:
        raise ValueError("the upgrade action needs the next version's image")
    if upgrades and upgrade:
        image = upgrade.old_ref  # the rows are written by the old version
    result = planned(engine, cell, upgrade)  # the platform's promise, as every path reads it
    unverified = unverified_because(compose.version(), engine.info)
    if unverified:
        result.verified, result.reason = False, f"{result.reason} ({unverified})"
    creds = creds or Credentials.random()
    # Not for an upgrade: its old image writes in a handful of cells, fewer than pay for an
    # initialisation of their own (the matrix's `initialised` images are the current version's).
    if initialised is not None and not upgrades:
        try:
            image = initialised.image_for(
                engine, session, image, DATABASES[cell.database], COMPOSE_STORAGE[cell.storage]
            )
        except Exception as error:  # no verdict, for the reason the initialisation gives
            result.error = preparation_cause(engine, session, error, creds)
            return result
    steps = CellSteps()

    def cause(seen: str) -> str:
        return failure_cause(engine, session, steps, seen)

    project = _project(engine, session, cell, image, compose=compose, creds=creds, steps=steps)
    with judged_cell(result, creds.secrets, cause), project as run:
        named = COMPOSE_STORAGE[cell.storage].holder is Holder.NAMED_VOLUME
        volume = f"{run.project}_{DATA_VOLUME}" if named else None
        expected_mount = ExpectedMount(cell.id, cell.storage, volume)
        exercise(run, cell.action, DATABASES[cell.database], creds, result,
                 expected_mount, upgrade=upgrade)  # fmt: skip
    judge_finished(engine, session, steps, result)
    return result


@contextlib.contextmanager
def _project(
    engine: Engine,
    session: Session,
    cell: Cell,
    image: str,
    *,
    compose: Compose,
    creds: Credentials,
    steps: CellSteps,
) -> Iterator[ComposeRun]:
    profile = DATABASES[cell.database]
    storage = COMPOSE_STORAGE[cell.storage]
    facts = ImageFacts.from_config(image, engine.image_attrs(image)["Config"])
    placement = place(profile, facts, in_layer=storage.in_layer)
    project_name = f"harness-{session.id}-{cell.database}-{cell.storage}-{cell.action}".lower()
    state = RunState.of(session)
    # Under the run's state: `clean` removes it (and the bind's files) after a SIGKILL too.
    directory = state.new_directory("scratch", "compose-")
    run = ComposeRun(engine, compose, directory, project_name, state, steps=steps)
    run.data_binds.append(directory / BIND_SOURCE)
    external = None
    try:
        if storage.holder is Holder.EXTERNAL_VOLUME:
            external = engine.create_volume(f"{project_name}-external", session.labels)
            run.external_volumes.append(external)
        project = compose_project(
            profile, image, cell.storage, placement, creds, session.labels,
            publish=compose_ports_entry(engine, profile.port), external_volume=external,
        )  # fmt: skip
        (directory / PROJECT_FILE).write_text(yaml.safe_dump(project.file, sort_keys=False))
        for relative, content in project.secret_files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            path.chmod(0o644)  # the server's own user reads it through the bind mount
        yield run
    except BaseException:
        # The cell's own failure is the one to report (the engine gone, say); what the close
        # could not remove goes at the run's end, or with `clean`.
        with contextlib.suppress(Exception):
            run.close(image, session.labels)
        raise
    run.close(image, session.labels)


def exercise(  # noqa: PLR0917 - a project, an action, whose rows, where they must be
    run: ComposeRun,
    action_name: str,
    profile: DatabaseProfile,
    creds: Credentials,
    result: ScenarioResult,
    expected_mount: ExpectedMount,
    *,
    upgrade: UpgradeImages | None = None,
) -> None:
    """`up`, the Persons rows written through the service (on the mount the storage declares,
    else no verdict), the action's compose commands, and the rows read back into `result`."""
    action = COMPOSE_ACTIONS[action_name]
    steps = run.steps
    steps.begin("`docker compose up`")
    run.run(("up", "-d"))
    service = run.service()
    try:
        first = wait_until_ready(service, profile, creds)
    except NotReady:
        # A service the server will not start is the cell's outcome, not a failure.
        log = redact(service.logs(REFUSAL_LOG_LINES), creds.secrets)
        refusal = refused_at_start(service.state(), log)
        if refusal is None:
            raise
        result.observed, result.detail = refusal.outcome, refusal.detail
        result.mounts = "; ".join(m.describe() for m in service.mounts())
        return
    with closing(first) as connection:
        steps.begin("the write of the Persons rows")
        data_dir = profile.data_directory(connection)
        _verify_placement(expected_mount, profile.name, data_dir, service.mounts())
        result.rows_written = write_persons(connection)
    other = f"{run.project}-renamed"
    steps.begin(f"the {action_name} action", acting=True)
    if action.upgrades and upgrade:
        run.set_image(upgrade.new_ref)
    for command in action.commands:
        stopping = command[0] in STOPPING_COMMANDS
        started = run.started_at() if stopping else ""
        if command[:2] == ("-p", "{other}"):
            run.run(command[2:], project=other)
        else:
            run.run(command)
        if stopping:
            run.wait_until_listed_stopped(command[0], started)
    steps.begin("the read-back of the rows")
    current = run.service(other if action.renames_project else None)
    observation = _observe(run, current, profile, creds, upgrade if action.upgrades else None)
    result.observed = observation.outcome
    result.rows_read = observation.rows_read
    result.detail = observation.detail
    result.mounts = "; ".join(m.describe() for m in current.mounts())


def _observe(
    run: ComposeRun,
    service: ComposeService,
    profile: DatabaseProfile,
    creds: Credentials,
    upgrade: UpgradeImages | None,
) -> Observation:
    """The rows as the service finds them. After an upgrade, a server that will not start on
    them has `refused` them only if the old version, put back on the same storage, still reads
    every row (else they are lost), as in the matrix."""

    def connect() -> DbConnection:
        return wait_until_ready(service, profile, creds)

    try:
        return observe(profile.classify_missing, connect, PERSONS_ROWS)
    except NotReady:
        if upgrade is None or service.state().get("Status") not in ("exited", "dead"):
            raise
    log = redact(service.logs(REFUSAL_LOG_LINES), creds.secrets)

    def put_back() -> Observation:
        # Compose recreates the refused container: the harness's own removal, not interference.
        run.steps.begin("putting the old version back", acting=True)
        run.set_image(upgrade.old_ref)
        run.run(("up", "-d"))
        return observe(profile.classify_missing, connect, PERSONS_ROWS)

    return refused_or_lost(log, put_back)


@dataclass(frozen=True)
class ExpectedMount:
    """Where the data directory must be for a verdict: on the storage mode's kind of mount
    (and, for a volume with a known real name, on that volume)."""

    label: str  # the cell or service, for the message
    storage: str  # a COMPOSE_STORAGE name
    volume_name: str | None = None


def _verify_placement(
    expected: ExpectedMount, database: str, data_dir: str, mounts: list[ObservedMount]
) -> None:
    """The data directory must be on the mount the storage mode declares, else no verdict."""
    holder = COMPOSE_STORAGE[expected.storage].holder
    where = misplaced(holder, mount_holding(mounts, data_dir), expected.volume_name)
    if where:
        raise HarnessError(
            f"{expected.label}: {database} keeps its data in {data_dir}, on {where}, not where "
            f"the {expected.storage} storage puts it, so there is no verdict."
        )
