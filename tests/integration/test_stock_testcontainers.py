"""Tools written for the official images work unchanged on the local ones."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pymysql
import pytest
from testcontainers.community.mysql import MySqlContainer
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.config import testcontainers_config

from harness.containers.engine import Session


@pytest.fixture(autouse=True)
def _no_reaper() -> Iterator[None]:
    # Ryuk, testcontainers' reaper, is an image from a registry we cannot reach; the harness's
    # own labels and sweep do its job here.
    previous = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True
    yield
    testcontainers_config.ryuk_disabled = previous


def test_stock_mysql_container_starts_and_answers(
    harness_test_session: Session, local_images: dict[str, str]
) -> None:
    """`MySqlContainer` waits for its log lines, then pymysql queries as its user."""
    container = MySqlContainer(
        local_images["mysql"], username="tc", password="tc-secret", dbname="tcdb"
    ).with_kwargs(labels=harness_test_session.labels)
    with container:
        connection = pymysql.connect(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(3306)),
            user="tc",
            password="tc-secret",
            database="tcdb",
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE(), 6 * 7")
            assert cursor.fetchall() == (("tcdb", 42),)
        connection.close()


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
