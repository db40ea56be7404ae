"""A scenario: (database, storage mode, lifecycle action) -> what happened to the rows.

The matrix and `check_persistence` run the same steps; they differ only in where the container
comes from (a core testcontainers container of the chosen image, or the user's own).
"""

from __future__ import annotations

import time
from contextlib import closing

from testcontainers.core.container import DockerContainer

from harness.containers.deployment import Deployment
from harness.containers.engine import Engine, Session
from harness.containers.managed import spec_of
from harness.errors import HarnessError
from harness.model.actions import ACTIONS
from harness.model.cells import Cell, ScenarioResult
from harness.model.credentials import Credentials, redact
from harness.model.databases import DATABASES, DatabaseProfile
from harness.model.persons import PERSONS_ROWS, DbConnection, observe, write_persons
from harness.model.storage import STORAGE_MODES, expect


class PlacementError(HarnessError):
    """The data directory is not where the storage mode should have put it: no valid verdict."""


def run_scenario(
    engine: Engine, session: Session, cell: Cell, image: str, creds: Credentials
) -> ScenarioResult:
    """One matrix cell on `image`, configured as the official image's contract says."""
    profile = DATABASES[cell.database]
    container = DockerContainer(image, env=profile.init_env(creds))
    return run_cell(engine, session, cell, container, creds)


def run_cell(
    engine: Engine, session: Session, cell: Cell, container: DockerContainer, creds: Credentials
) -> ScenarioResult:
    """Write the Persons rows, apply the action, read back; everything made is removed after.

    `container` is an unstarted testcontainers container; it is copied, never started itself.
    """
    promise = expect(cell.storage, cell.action, engine.info)
    result = ScenarioResult(cell=cell, expected=promise.outcome, reason=promise.reason)
    started = time.monotonic()
    profile = DATABASES[cell.database]
    action = ACTIONS[cell.action]
    try:
        with Deployment(
            engine,
            session.scoped(cell.id),
            profile,
            creds,
            STORAGE_MODES[cell.storage],
            container,
            spec_of(container),
        ) as d:
            d.start_new()
            with closing(d.connect()) as connection:
                _check_placement(d, profile, connection)
                result.rows_written = write_persons(connection)
            d.perform(action)
            observation = observe(profile.classify_missing, d.connect, PERSONS_ROWS)
            if action.recreates_storage:
                with closing(d.connect()) as connection:
                    _check_placement(d, profile, connection)
            result.observed = observation.outcome
            result.rows_read = observation.rows_read
            result.detail = observation.detail
            result.mounts = d.describe_mounts()
            result.dangling_volumes = d.dangling_volumes()
            result.dangling_with_data = [v for v in result.dangling_volumes if v in d.data_volumes]
    except HarnessError as error:
        result.error = redact(str(error), creds.secrets)
    except Exception as error:  # the verdict is "could not run", with what went wrong
        result.error = redact(f"{type(error).__name__}: {error}", creds.secrets)
    result.seconds = time.monotonic() - started
    return result


def _check_placement(d: Deployment, profile: DatabaseProfile, connection: DbConnection) -> None:
    """The server's real data directory must be on the mount the storage mode intends."""
    cursor = connection.cursor()
    cursor.execute(profile.data_dir_query)
    actual = str(cursor.fetchall()[0][0]).rstrip("/") or "/"
    cursor.close()
    mount = d.data_mount(actual)
    if mount and mount.name in d.anonymous_volumes:
        d.data_volumes.add(mount.name)
    problem = d.storage.placement_problem(mount, d.resource)
    if problem:
        raise PlacementError(
            f"{profile.name} keeps its data in {actual}, but {problem} "
            f"(mounts: {d.describe_mounts()}); the scenario cannot give a verdict."
        )
