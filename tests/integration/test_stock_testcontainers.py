"""Tools written for the official images work unchanged on the local ones."""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from testcontainers.community.mysql import MySqlContainer
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.config import testcontainers_config

from harness.containers.engine import Engine, Session
from harness.model.spec import ContainerSpec


@pytest.fixture(autouse=True)
def _no_reaper() -> Iterator[None]:
    # Ryuk, testcontainers' reaper, is an image from a registry we cannot reach; the harness's
    # own labels and sweep do its job here.
    previous = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True
    yield
    testcontainers_config.ryuk_disabled = previous


def _mysql_query(container: MySqlContainer, query: str) -> tuple[tuple[object, ...], ...]:
    """`query` as the container's own user, where testcontainers says its port is."""
    connection = pymysql.connect(
        host=container.get_container_host_ip(),
        port=int(container.get_exposed_port(3306)),
        user="tc",
        password="tc-secret",
        database="tcdb",
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return tuple(cursor.fetchall())
    finally:
        connection.close()


def test_stock_mysql_container_starts_and_answers(
    harness_test_session: Session, local_images: dict[str, str]
) -> None:
    """`MySqlContainer` waits for its log lines, then pymysql queries as its user."""
    container = MySqlContainer(
        local_images["mysql"], username="tc", password="tc-secret", dbname="tcdb"
    ).with_kwargs(labels=harness_test_session.labels)
    with container:
        assert _mysql_query(container, "SELECT DATABASE(), 6 * 7") == (("tcdb", 42),)


def test_stock_postgres_container_starts_and_answers(
    harness_test_session: Session, local_images: dict[str, str]
) -> None:
    """`PostgresContainer` runs psql inside the container, then psycopg queries as its user."""
    container = PostgresContainer(
        local_images["postgres"], username="tc", password="tc-secret", dbname="tcdb", driver=None
    ).with_kwargs(labels=harness_test_session.labels)
    with (
        container,
        psycopg.connect(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            user="tc",
            password="tc-secret",
            dbname="tcdb",
        ) as connection,
    ):
        assert connection.execute("SELECT current_database(), 6 * 7").fetchall() == [("tcdb", 42)]


def test_initdb_directory_is_root_owned_in_both_images(
    harness_engine: Engine, harness_test_session: Session, local_images: dict[str, str]
) -> None:
    """/docker-entrypoint-initdb.d exists, owned by root, as in the official images."""
    for image in local_images.values():
        code, output = harness_engine.run_helper(
            ContainerSpec(image, labels=harness_test_session.labels),
            entrypoint=["stat", "-c", "%U %F", "/docker-entrypoint-initdb.d"],
        )
        assert code == 0, output
        assert output.strip() == "root directory"


def test_mysql_seed_scripts_run_against_the_application_database(
    harness_test_session: Session, local_images: dict[str, str], tmp_path: Path
) -> None:
    """`MySqlContainer(seed=DIR)` copies .sql and .sql.gz scripts in; both ran, in name order,
    in the application database."""
    (tmp_path / "1-schema.sql").write_text(
        "CREATE TABLE Persons (PersonID int, LastName varchar(255));\n"
        "INSERT INTO Persons VALUES (1, 'test');\n"
    )
    (tmp_path / "2-more.sql.gz").write_bytes(
        gzip.compress(b"INSERT INTO Persons VALUES (2, 'gzipped');\n")
    )
    container = MySqlContainer(
        local_images["mysql"], username="tc", password="tc-secret", dbname="tcdb",
        seed=str(tmp_path),
    ).with_kwargs(labels=harness_test_session.labels)  # fmt: skip
    with container:
        rows = _mysql_query(container, "SELECT PersonID, LastName FROM Persons ORDER BY 1")
        assert rows == ((1, "test"), (2, "gzipped"))


def test_postgres_initdb_scripts_run_once_on_first_initialisation(
    harness_engine: Engine,
    harness_test_session: Session,
    local_images: dict[str, str],
    tmp_path: Path,
) -> None:
    """.sql, .sql.xz and a sourced .sh run on an empty data directory, against POSTGRES_DB;
    a container recreated on the initialised volume runs none of them again."""
    scripts = tmp_path / "initdb"
    scripts.mkdir()
    (scripts / "1-schema.sql").write_text(
        "CREATE TABLE Persons (PersonID int, LastName varchar(255));\n"
    )
    (scripts / "2-rows.sql.xz").write_bytes(
        lzma.compress(b"INSERT INTO Persons VALUES (1, 'test');\n")
    )
    (scripts / "3-shell.sh").write_text(
        'psql_local --dbname "$POSTGRES_DB" -c "INSERT INTO Persons VALUES (2, \'from sh\')"\n'
    )
    volume = harness_engine.create_volume(
        f"harness-{harness_test_session.id}-{harness_test_session.scope}-initdb",
        harness_test_session.labels,
    )

    def run_once() -> list[tuple[int, str]]:
        container = (
            PostgresContainer(
                local_images["postgres"], username="tc", password="tc-secret", dbname="tcdb",
                driver=None,
            )
            .with_volume_mapping(str(scripts), "/docker-entrypoint-initdb.d", "ro")
            # The image's VOLUME (PostgreSQL 18 refuses a mount at .../data).
            .with_volume_mapping(volume, "/var/lib/postgresql", "rw")
            .with_kwargs(labels=harness_test_session.labels)
        )  # fmt: skip
        container.start()
        try:
            with psycopg.connect(
                host=container.get_container_host_ip(),
                port=int(container.get_exposed_port(5432)),
                user="tc",
                password="tc-secret",
                dbname="tcdb",
            ) as connection:
                rows = connection.execute("SELECT * FROM Persons ORDER BY 1").fetchall()
        finally:
            # Keep the volume: the second container must find it initialised.
            container.get_wrapped_container().remove(force=True, v=False)
        return [(int(r[0]), str(r[1])) for r in rows]

    assert run_once() == [(1, "test"), (2, "from sh")]
    assert run_once() == [(1, "test"), (2, "from sh")]  # not inserted twice
