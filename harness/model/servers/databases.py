"""One profile per database: how to configure, reach, and question it.

Adding a database is one new `DatabaseProfile` in `DATABASES`. The drivers (pymysql, psycopg) are
imported when a connection is made, not with this module: the front ends load it in every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from harness.model.loopback import on_this_machine
from harness.model.servers.credentials import Credentials
from harness.model.servers.persons import DbConnection


@dataclass(frozen=True)
class DatabaseProfile:
    name: str
    port: int
    # The environment of the official image's contract that initialises an empty data dir.
    init_env: Callable[[Credentials], dict[str, str]]
    connect: Callable[[str, int, Credentials, float], DbConnection]
    data_dir_query: str
    # Where the image keeps data when its config does not say (`PGDATA` wins for postgres).
    default_data_dir: str
    data_dir_env: str | None
    # How to move the data directory somewhere else (the `layer` mode): env and extra args.
    relocate: Callable[[str], tuple[dict[str, str], list[str]]]
    classify_missing: Callable[[BaseException], str | None]
    # Environment variables by which an image says it runs this database.
    image_env_hints: tuple[str, ...]
    # The variable the official image (and the local one) states its major version in.
    major_env: str
    # testcontainers module classes for this database (matched by name, so no import is needed).
    testcontainers_classes: tuple[str, ...]
    # Parts of the data that a variable puts outside the data directory, by what they hold ->
    # that variable (postgres: the write-ahead log, POSTGRES_INITDB_WALDIR): data that must be on
    # the data directory's mount.
    linked_parts: Mapping[str, str] = field(default_factory=dict)
    # The init variables holding passwords; the official images (and the local ones) also read
    # each from a file named by `<variable>_FILE`, which keeps it out of `docker inspect`.
    password_variables: tuple[str, ...] = ()

    def data_directory(self, connection: DbConnection) -> str:
        """Where the running server really keeps its data (no trailing slash)."""
        cursor = connection.cursor()
        cursor.execute(self.data_dir_query)
        found = str(cursor.fetchall()[0][0]).rstrip("/") or "/"
        cursor.close()
        return found

    def data_dir_from_image(self, image_env: Mapping[str, str]) -> str:
        if self.data_dir_env and image_env.get(self.data_dir_env):
            return image_env[self.data_dir_env]
        return self.default_data_dir


def _init_variables(prefix: str) -> Callable[[Credentials], dict[str, str]]:
    """The official MySQL-family image's init variables under its own prefix (`MYSQL_` for
    mysql; `MARIADB_` for mariadb, which also reads the `MYSQL_` names as aliases)."""

    def env(creds: Credentials) -> dict[str, str]:
        return {
            f"{prefix}ROOT_PASSWORD": creds.root_password,
            f"{prefix}DATABASE": creds.database,
            f"{prefix}USER": creds.user,
            f"{prefix}PASSWORD": creds.password,
            # The time zone tables mean nothing to a persistence check and cost ~0.5 s per init.
            f"{prefix}INITDB_SKIP_TZINFO": "1",
        }

    return env


def _mysql_connect(host: str, port: int, creds: Credentials, timeout: float) -> DbConnection:
    import pymysql  # noqa: PLC0415 - drivers load on first use, not with the plugin

    return pymysql.connect(
        host=host,
        port=port,
        user=creds.user,
        password=creds.password,
        database=creds.database,
        connect_timeout=max(1, int(timeout)),
        read_timeout=max(1, int(timeout)),
        charset="utf8mb4",
        autocommit=False,
        # The driver's default tries TLS and builds a new TLS context, reading the system's CA
        # bundle, on every attempt: ~80 ms of CPU each, most of the harness's own CPU in a cell
        # (readiness polls connect many times). On loopback the bytes never leave the machine;
        # to a remote engine's published port TLS is still tried. Without TLS, MySQL 8+'s
        # caching_sha2_password sends the password RSA-encrypted with the server's public key
        # on the first login after a start (pymysql's `rsa` extra, cryptography), and a cached
        # scramble after that: cheaper than a TLS handshake on every connection.
        ssl_disabled=on_this_machine(host),
    )


MYSQL_UNKNOWN_DATABASE = 1049
MYSQL_UNKNOWN_TABLE = 1146


def _mysql_missing(error: BaseException) -> str | None:
    import pymysql.err  # noqa: PLC0415 - drivers load on first use

    code = error.args[0] if isinstance(error, pymysql.err.MySQLError) and error.args else None
    return {MYSQL_UNKNOWN_DATABASE: "database", MYSQL_UNKNOWN_TABLE: "table"}.get(code)  # type: ignore[arg-type]


def _postgres_env(creds: Credentials) -> dict[str, str]:
    # The application user is the superuser POSTGRES_USER, as with the official image.
    return {
        "POSTGRES_PASSWORD": creds.password,
        "POSTGRES_USER": creds.user,
        "POSTGRES_DB": creds.database,
    }


def _postgres_connect(host: str, port: int, creds: Credentials, timeout: float) -> DbConnection:
    import psycopg  # noqa: PLC0415 - drivers load on first use, not with the plugin

    return psycopg.connect(
        host=host,
        port=port,
        user=creds.user,
        password=creds.password,
        dbname=creds.database,
        connect_timeout=max(1, int(timeout)),
        # libpq's default, prefer, negotiates TLS when the server offers it (Debian's does); on
        # loopback that is CPU for nothing, as for MySQL above.
        sslmode="disable" if on_this_machine(host) else "prefer",
    )


def _postgres_missing(error: BaseException) -> str | None:
    import psycopg  # noqa: PLC0415 - drivers load on first use
    import psycopg.errors  # noqa: PLC0415

    if isinstance(error, psycopg.errors.UndefinedTable):
        return "table"
    if isinstance(error, psycopg.errors.InvalidCatalogName):
        return "database"
    # A missing database is refused at connect time, before any SQLSTATE object exists.
    if isinstance(error, psycopg.OperationalError) and "does not exist" in str(error):
        return "database"
    return None


MYSQL = DatabaseProfile(
    name="mysql",
    port=3306,
    init_env=_init_variables("MYSQL_"),
    connect=_mysql_connect,
    data_dir_query="SELECT @@datadir",
    default_data_dir="/var/lib/mysql",
    data_dir_env=None,
    relocate=lambda path: ({}, [f"--datadir={path}"]),
    classify_missing=_mysql_missing,
    image_env_hints=("MYSQL_MAJOR", "MYSQL_VERSION"),
    major_env="MYSQL_MAJOR",
    testcontainers_classes=("MySqlContainer",),
    password_variables=("MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD"),
)

# MariaDB speaks MySQL's protocol (the same driver) and keeps the same data directory; its image
# has its own variables and tells itself apart by its own.
MARIADB = replace(
    MYSQL,
    name="mariadb",
    init_env=_init_variables("MARIADB_"),
    image_env_hints=("MARIADB_MAJOR", "MARIADB_VERSION"),
    major_env="MARIADB_MAJOR",
    testcontainers_classes=("MariaDbContainer",),
    password_variables=(
        "MARIADB_ROOT_PASSWORD",
        "MARIADB_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "MYSQL_PASSWORD",
    ),
)

POSTGRES = DatabaseProfile(
    name="postgres",
    port=5432,
    init_env=_postgres_env,
    connect=_postgres_connect,
    data_dir_query="SELECT current_setting('data_directory')",
    default_data_dir="/var/lib/postgresql/data",
    data_dir_env="PGDATA",
    relocate=lambda path: ({"PGDATA": path}, []),
    classify_missing=_postgres_missing,
    image_env_hints=("PGDATA", "PG_MAJOR", "PG_VERSION"),
    major_env="PG_MAJOR",
    testcontainers_classes=("PostgresContainer",),
    password_variables=("POSTGRES_PASSWORD",),
    linked_parts={"write-ahead log": "POSTGRES_INITDB_WALDIR"},
)

DATABASES: dict[str, DatabaseProfile] = {p.name: p for p in (MYSQL, MARIADB, POSTGRES)}
# What a run checks unless asked for more: the two servers the harness exists for. MariaDB joins
# with `--database mariadb` (HARNESS_DATABASES for make and pytest).
DEFAULT_DATABASES: tuple[str, ...] = ("mysql", "postgres")
