"""Bring your own container: a user's testcontainers container through one cell of the matrix.

from testcontainers.community.postgres import PostgresContainer
from harness import check_persistence

result = check_persistence(PostgresContainer("myorg/pg:1.4", username="app",
                           password="s3cret", dbname="employees"),
                           storage="named", action="recreate")
assert result.passed and result.observed == "survives"

An upgrade takes the next version's image: `action="upgrade", upgrade_to="myorg/pg:2.0"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from testcontainers.core.container import DockerContainer

from harness.containers.deployment import placement_for
from harness.containers.engine import Engine, Session
from harness.containers.managed import pristine_copy, spec_of
from harness.containers.run_state import end_run, start_run
from harness.errors import UsageError
from harness.images.availability import cannot_tell_database, database_of_image
from harness.images.inspect import detect_database
from harness.images.sources import UpgradeImages, image_of
from harness.model.cells import Cell, ScenarioResult
from harness.model.placement import ImageFacts
from harness.model.platforms.actions import ACTIONS
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.image_variables import Unusable, contract_for, read_credentials
from harness.model.servers.stand_in_table import stand_in_for
from harness.persistence.scenario import run_cell


def check_persistence(
    container: DockerContainer,
    *,
    storage: str,
    action: str,
    database: str | None = None,
    upgrade_to: str | None = None,
    engine: Engine | None = None,
    session: Session | None = None,
) -> ScenarioResult:
    """Run `container` (unstarted; it is copied, never changed) through one storage mode and
    one action, and compare the full Persons row set read back with the engine's promise.

    Its own env, command, network and labels are kept; the harness adds its labels and the
    storage mode's mount. The `upgrade` action recreates it on `upgrade_to`, an image of the
    next version, which must read every row. Everything made is removed before this returns.
    """
    _require_known(storage, STORAGE_MODES, "storage mode")
    _require_known(action, ACTIONS, "action")
    if ACTIONS[action].upgrades != bool(upgrade_to):
        raise UsageError(
            "The upgrade action needs upgrade_to=IMAGE (the next version's image), and only it "
            "takes one; pass both or neither."
        )
    if not isinstance(container, DockerContainer):
        raise UsageError(
            f"check_persistence needs a testcontainers container (DockerContainer, "
            f"MySqlContainer, PostgresContainer), not {type(container).__name__}."
        )
    own_engine = engine is None
    engine = engine or Engine.connect()
    run = session or start_run(engine)
    try:
        typed = container.image
        container = _offline_stand_in(container, engine)
        profile = _database_of(container, database, engine)
        creds = _credentials_of(container, profile)
        _refuse_conflicting_mounts(container, profile, storage, engine)
        upgrade = UpgradeImages(container.image, upgrade_to) if upgrade_to else None
        cell = Cell(profile.name, storage, action)
        result = run_cell(engine, run, cell, container, creds, upgrade)
        if container.image != typed:
            result.reason += f" ({typed} ran as {container.image}, the local build for its tag)"
        return result
    finally:
        if session is None:
            end_run(engine, run)
        if own_engine:
            engine.close()


def _offline_stand_in(container: DockerContainer, engine: Engine) -> DockerContainer:
    """An official image that is not on the engine (testcontainers' defaults, `mysql:latest`
    and `postgres:latest`, where no registry is reachable) runs on the local build the stand-in
    table gives its tag, when that build is there; else the container as it is."""
    if engine.has_image(container.image):
        return container
    table = stand_in_for(container.image)
    if table is None:
        return container
    ref = image_of(table.version, "local")
    if not engine.has_image(ref):
        return container
    twin = pristine_copy(container)
    twin.image = ref
    return twin


def _require_known(name: str, registry: Mapping[str, object], what: str) -> None:
    if name not in registry:
        raise UsageError(f"{name!r} is not a known {what}; use one of: {', '.join(registry)}.")


def _database_of(
    container: DockerContainer, database: str | None, engine: Engine
) -> DatabaseProfile:
    """From `database=`, else the image's own variables (a MySqlContainer of a mariadb image
    runs MariaDB), else the testcontainers module's class, else the image's port."""
    if database is not None:
        _require_known(database, DATABASES, "database")
        return DATABASES[database]
    if engine.has_image(container.image):
        config = engine.image_attrs(container.image)["Config"]
        facts = ImageFacts.from_config(container.image, config)
        hinted = detect_database(replace(facts, exposed_ports=()))
        if hinted:
            return DATABASES[hinted]
    class_names = {cls.__name__ for cls in type(container).__mro__}
    for profile in DATABASES.values():
        if class_names & set(profile.testcontainers_classes):
            return profile
    detected = database_of_image(engine, container.image)
    if detected is None:
        raise cannot_tell_database(container.image, "database=")
    return DATABASES[detected]


def _refuse_conflicting_mounts(
    container: DockerContainer, profile: DatabaseProfile, storage: str, engine: Engine
) -> None:
    """A storage mode whose mount would fight the user's own is a UsageError, before anything
    starts (inside a run it would only be a cell without a verdict)."""
    spec = spec_of(container)
    mode = STORAGE_MODES[storage]
    mode.configure(spec, placement_for(engine, profile, mode, spec).mount_target, "probe")


def _credentials_of(container: DockerContainer, profile: DatabaseProfile) -> Credentials:
    """The credentials the container will be initialised with.

    testcontainers' database modules put theirs into the environment in `_configure()`, which
    `start()` calls; calling it on a private copy reads them without starting anything.
    """
    copy = pristine_copy(container)
    copy._configure()
    creds = read_credentials(contract_for(container.image, profile.name), copy.env)
    if isinstance(creds, Unusable):
        raise UsageError(creds.sentence(f"The {profile.name} container"))
    return creds
