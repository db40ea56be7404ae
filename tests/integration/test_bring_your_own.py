"""Bring your own container: stock testcontainers containers through `check_persistence`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testcontainers.community.mysql import MySqlContainer
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer

from harness import check_persistence
from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine, Session, owner_is_alive
from harness.containers.managed import ManagedContainer, configure, spec_of
from harness.containers.readiness import wait_until_ready
from harness.errors import HarnessError, UsageError
from harness.images.recipes import BASE, VERSION_IMAGES
from harness.model.cells import ScenarioResult
from harness.model.platforms.actions import SINGLE_IMAGE_ACTIONS
from harness.model.platforms.storage import STORAGE_NAMES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-byo"

# The survival table of docs/matrix.md, transcribed apart from the code (S survives, L lost),
# in the order of SINGLE_IMAGE_ACTIONS: what a stock container must come out as.
DOCUMENTED = {
    "layer": "SSSLLLL",
    "anonymous": "SSSLLLS",
    "named": "SSSSSLS",
    "bind": "SSSSSSS",
    "tmpfs": "LLLLLLL",
}


def documented(storage: str, action: str, engine: Engine) -> str:
    """The documented outcome on this engine: Docker 23 (API 1.42) stopped pruning named
    volumes; Podman 4 still prunes them."""
    letter = DOCUMENTED[storage][SINGLE_IMAGE_ACTIONS.index(action)]
    prune_spares_named = engine.info.name == "docker" and engine.info.api_at_least("1.42")
    if (storage, action) == ("named", "prune-recreate") and prune_spares_named:
        letter = "S"
    return {"S": "survives", "L": "lost"}[letter]


def stock(database: str, image: str) -> DockerContainer:
    """A container as a team's own test suite would build it, with its own settings."""
    if database in ("mysql", "mariadb"):  # a MySqlContainer of a mariadb image runs MariaDB
        container: DockerContainer = MySqlContainer(
            image, username="app", password=PASSWORD, dbname="employees"
        )
    else:
        container = PostgresContainer(
            image, username="app", password=PASSWORD, dbname="employees", driver=None
        )
    return container.with_env("TZ", "UTC").with_kwargs(labels={"team": "data"})


# The cells that show what bringing your own container changes: each storage mode through a
# recreate (where the mode alone decides: the mount the copy gets), the second container
# `volumes-from` builds from the copy, and the engine-dependent prune. Every other cell of the
# matrix runs in scenarios/ through the same code below `check_persistence` (the test plan in
# docs/architecture.md); all 70 ran here until issue 38, on the same verdicts.
SHOWN_CELLS = [
    *((storage, "recreate") for storage in STORAGE_NAMES),
    ("anonymous", "volumes-from"),
    ("named", "prune-recreate"),
]


@pytest.mark.parametrize(("storage", "action"), SHOWN_CELLS)
@pytest.mark.parametrize("database", ["mysql", "postgres"])
def test_stock_container_through_the_cells_that_show_it(  # noqa: PLR0917 - parameters, fixtures
    database: str,
    storage: str,
    action: str,
    local_images: dict[str, str],
    harness_engine: Engine,
    harness_test_session: Session,
) -> None:
    """A stock MySqlContainer / PostgresContainer keeps or loses its rows as the engine
    promises, with its own credentials; the full row set is compared.

    (Not through the `persistence_check` fixture: its cells would join this run's matrix report
    under the matrix's own ids. The fixture has its own test below.)
    """
    container = stock(database, local_images[database])
    result = check_persistence(
        container,
        storage=storage,
        action=action,
        engine=harness_engine,
        session=harness_test_session,
    )
    assert result.passed, result.failure_message()
    assert result.cell.database == database  # inferred from the module's class
    assert result.expected == documented(storage, action, harness_engine)
    assert result.rows_written == 6
    if result.observed == "survives":
        assert result.rows_read == result.rows_written
    entry = result.to_dict()
    assert entry["id"] == f"{database}-{storage}-{action}"
    assert PASSWORD not in str(entry)


@pytest.mark.parametrize(
    ("database", "old", "new", "observed"),
    [("mariadb", "10.11", "11.8", "survives"), ("postgres", "17", "18", "refused")],
)
def test_stock_container_upgraded_to_the_next_version(  # noqa: PLR0917 - parameters and fixtures
    database: str,
    old: str,
    new: str,
    observed: str,
    harness_engine: Engine,
    harness_test_session: Session,
) -> None:
    """`upgrade_to=`: a stock container of one version, recreated on its named volume with the
    next; images of your own must keep the rows, so only MariaDB's upgrade passes the gate."""
    old_ref, new_ref = (VERSION_IMAGES[database, v].ref for v in (old, new))
    result = check_persistence(
        stock(database, old_ref),
        storage="named",
        action="upgrade",
        upgrade_to=new_ref,
        engine=harness_engine,
        session=harness_test_session,
    )
    assert not result.error, result.error
    assert (result.expected, result.observed) == ("survives", observed)
    assert result.passed is (observed == "survives")
    assert result.rows_read == 6  # read by the new version, or by the old one put back
    assert result.to_dict()["upgrade"] == {"from": old_ref, "to": new_ref}
    assert result.cell.database == database  # a MySqlContainer of MariaDB: told by the image


FIXTURE_USER_TEST = """
from testcontainers.community.mysql import MySqlContainer

def test_our_image_keeps_data(persistence_check):
    container = MySqlContainer({image!r}, username="app", password="s3cret", dbname="employees")
    result = persistence_check(container, storage="named", action="kill-start")
    assert result.passed, result.failure_message()
"""


def test_persistence_check_fixture_in_a_users_suite(
    local_images: dict[str, str],
    harness_engine: Engine,
    tmp_path: Path,
    contract: Callable[[str, Any], None],
) -> None:
    """A user's test with the fixture passes; its cell shows in the summary and the JSON report;
    nothing of that run stays on the engine."""
    (tmp_path / "test_ours.py").write_text(FIXTURE_USER_TEST.format(image=local_images["mysql"]))
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={tmp_path}",
         f"--harness-report={report}", str(tmp_path / "test_ours.py")],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "persistence matrix: mysql" in result.stdout
    data = json.loads(report.read_text())
    contract("report", data)
    assert [(r["id"], r["observed"], r["passed"]) for r in data["results"]] == [
        ("mysql-named-kill-start", "survives", True)
    ]
    assert data["images"] == {"mysql": local_images["mysql"]}
    assert "s3cret" not in result.stdout + report.read_text()
    # The sub-run's process has ended: anything labelled by a dead owner is what it left.
    client = harness_engine.client
    labelled = [
        # the low-level listing: no inspect of other tests' containers, removed meanwhile
        *(c["Labels"] for c in client.api.containers(all=True, filters={"label": SESSION_LABEL})),
        *(
            v.attrs.get("Labels") or {}
            for v in client.volumes.list(filters={"label": SESSION_LABEL})
        ),
    ]
    assert [labels for labels in labelled if not owner_is_alive(labels.get(OWNER_LABEL, ""))] == []


@pytest.mark.parametrize(
    ("document", "database", "placeholder"),
    [("README.md", "mysql", "myorg/db:1.4"), ("docs/your-images.md", "postgres", "myorg/pg:1.4")],
)
def test_docs_example_runs_on_the_local_image(
    local_images: dict[str, str], document: str, database: str, placeholder: str
) -> None:
    """The docs' check_persistence examples, with their image replaced by the local one."""
    text = (REPO / document).read_text()
    pattern = rf"```python\n(from testcontainers\S*{database}.*?)```"
    match = re.search(pattern, text, re.DOTALL)
    assert match, f"{document} has no check_persistence example for {database}"
    example = match.group(1).replace(f'"{placeholder}"', repr(local_images[database]))
    assert local_images[database] in example
    namespace: dict[str, object] = {}
    exec(compile(example, document, "exec"), namespace)  # noqa: S102 - our own docs
    result = namespace["result"]
    assert isinstance(result, ScenarioResult)
    assert (result.cell.storage, result.cell.action, result.observed) == (
        "named",
        "recreate",
        "survives",
    )


def test_core_container_database_comes_from_its_image(
    local_images: dict[str, str], harness_engine: Engine, harness_test_session: Session
) -> None:
    """A plain DockerContainer is recognised by its image's exposed port; env credentials."""
    container = DockerContainer(local_images["mysql"]).with_envs(
        MYSQL_ROOT_PASSWORD="r00t-byo",
        MYSQL_DATABASE="employees",
        MYSQL_USER="app",
        MYSQL_PASSWORD=PASSWORD,
    )
    result = check_persistence(
        container,
        storage="tmpfs",
        action="restart",
        engine=harness_engine,
        session=harness_test_session,
    )
    assert (result.cell.database, result.observed, result.passed) == ("mysql", "lost", True)


def test_a_container_configured_with_the_mariadb_images_own_variables_is_read_with_them(
    local_images: dict[str, str], harness_engine: Engine, harness_test_session: Session
) -> None:
    """MARIADB_* names, with a MYSQL_* alias that loses: the harness logs in as the MARIADB
    user with the MARIADB password, as the official mariadb image would have created it."""
    container = DockerContainer(local_images["mariadb"]).with_envs(
        MARIADB_ROOT_PASSWORD="r00t-byo",
        MARIADB_DATABASE="employees",
        MARIADB_USER="app",
        MYSQL_PASSWORD="the-alias-loses",
        MARIADB_PASSWORD=PASSWORD,
    )
    result = check_persistence(
        container, storage="named", action="recreate",
        engine=harness_engine, session=harness_test_session,
    )  # fmt: skip
    assert (result.observed, result.passed) == ("survives", True), result.failure_message()


def test_a_write_ahead_log_off_the_volume_gets_no_verdict_saying_where_it_is(
    local_images: dict[str, str], harness_engine: Engine, harness_test_session: Session
) -> None:
    """POSTGRES_INITDB_WALDIR outside the data's volume: the data would come back without its
    log, so the placement check stops the cell before any verdict, and says why. (Outside
    /var/lib/postgresql: from 18 the volume sits there, and a WAL below it is on the volume.)"""
    container = stock("postgres", local_images["postgres"]).with_env(
        "POSTGRES_INITDB_WALDIR", "/var/lib/pg-wal"
    )
    result = check_persistence(
        container, storage="named", action="recreate",
        engine=harness_engine, session=harness_test_session,
    )  # fmt: skip
    assert result.observed is None
    assert result.error
    assert (
        "its write-ahead log in /var/lib/pg-wal (POSTGRES_INITDB_WALDIR), in the "
        "writable layer, not on the mount that holds the data" in result.error
    )
    assert "keep the write-ahead log inside the data's mount" in result.error


def test_nothing_is_left_behind_and_the_users_object_is_unchanged(
    local_images: dict[str, str], harness_engine: Engine, harness_session: Session
) -> None:
    """After the check, no container or volume of this run remains; the user's container was
    never started and its settings are as they were."""
    container = stock("postgres", local_images["postgres"])
    before = (dict(container.env), dict(container.volumes), dict(container.tmpfs))
    result = check_persistence(
        container,
        storage="anonymous",
        action="recreate",
        engine=harness_engine,
        session=harness_session.scoped("byo-leftovers"),
    )
    assert result.passed, result.failure_message()
    run_label = {"label": f"{SESSION_LABEL}={harness_session.id}"}
    client = harness_engine.client
    assert client.containers.list(all=True, filters=run_label) == []
    assert client.volumes.list(filters=run_label) == []
    assert result.dangling_with_data  # the rows' old volume existed, and was removed after
    for name in result.dangling_volumes:
        assert not harness_engine.volume_exists(name)
    assert (dict(container.env), dict(container.volumes), dict(container.tmpfs)) == before
    with pytest.raises(Exception, match="not started"):
        container.get_wrapped_container()


def test_unusable_containers_get_one_sentence(
    local_images: dict[str, str], harness_engine: Engine, tmp_path: Path
) -> None:
    """Unknown names, no credentials, and a mount that fights the storage mode's are
    HarnessErrors with one sentence, before anything starts."""
    image = local_images["postgres"]
    with pytest.raises(UsageError, match="'nfs' is not a known storage mode; use one of: layer"):
        check_persistence(stock("postgres", image), storage="nfs", action="recreate")
    with pytest.raises(UsageError, match="'reboot' is not a known action; use one of: restart"):
        check_persistence(stock("postgres", image), storage="named", action="reboot")
    with pytest.raises(UsageError, match="The upgrade action needs upgrade_to=IMAGE"):
        check_persistence(stock("postgres", image), storage="named", action="upgrade")
    with pytest.raises(UsageError, match="The upgrade action needs upgrade_to=IMAGE"):
        check_persistence(
            stock("postgres", image), storage="named", action="recreate", upgrade_to=image
        )
    with pytest.raises(UsageError, match="container sets no POSTGRES_PASSWORD, so the server"):
        check_persistence(
            DockerContainer(image), storage="named", action="recreate", engine=harness_engine
        )
    own_mount = stock("postgres", image).with_volume_mapping(
        str(tmp_path), "/var/lib/postgresql/data", "rw"
    )
    with pytest.raises(HarnessError, match="already mounts something at /var/lib/postgresql/data"):
        check_persistence(own_mount, storage="named", action="recreate", engine=harness_engine)
    with pytest.raises(UsageError, match="Cannot tell which database"):
        check_persistence(
            DockerContainer(BASE.ref),
            storage="named",
            action="recreate",
            engine=harness_engine,
        )


def test_a_modules_seed_scripts_come_along(
    local_images: dict[str, str],
    harness_engine: Engine,
    harness_test_session: Session,
    tmp_path: Path,
) -> None:
    """MySqlContainer(seed=DIR) started by the container layer gets its seed, as with start()."""
    (tmp_path / "seed.sql").write_text(
        "CREATE TABLE Seeded (n int); INSERT INTO Seeded VALUES (7);"
    )
    container = MySqlContainer(
        local_images["mysql"], username="app", password=PASSWORD, dbname="employees",
        seed=str(tmp_path),
    )  # fmt: skip
    profile = DATABASES["mysql"]
    creds = Credentials("app", PASSWORD, "unused", "employees")
    spec = spec_of(container).with_labels(harness_test_session.labels).with_ports(3306)
    started = ManagedContainer.start(
        configure(container, spec, harness_engine, publish=(3306,)), harness_engine, spec
    )
    try:
        connection = wait_until_ready(started, profile, creds)
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT n FROM Seeded")
            assert cursor.fetchall() == ((7,),)
        finally:
            connection.close()
    finally:
        started.remove(volumes=True)


@pytest.mark.parametrize(
    ("container", "local"),
    [
        (MySqlContainer, "harness-local/mysql-9.7:"),
        (lambda: PostgresContainer(driver=None), "harness-local/postgres-18:"),
    ],
    ids=["mysql-latest", "postgres-latest"],
)
def test_testcontainers_default_images_run_on_the_real_servers_built_here(
    container: Callable[[], DockerContainer],
    local: str,
    local_images: dict[str, str],
    harness_engine: Engine,
    harness_test_session: Session,
) -> None:
    """`MySqlContainer()` and `PostgresContainer()` name `mysql:latest` and `postgres:latest`;
    where no registry is reachable they run on the local MySQL 9.7 and PostgreSQL 18, and the
    result says so."""
    stock_default = container()
    if harness_engine.has_image(stock_default.image):
        pytest.skip(f"{stock_default.image} is on this engine: it runs itself")
    result = check_persistence(
        stock_default, storage="named", action="recreate",
        engine=harness_engine, session=harness_test_session,
    )  # fmt: skip
    assert (result.observed, result.passed) == ("survives", True), result.failure_message()
    assert f"({stock_default.image} ran as {local}" in result.reason
