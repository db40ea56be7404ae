"""Each stand-in does what the official image's documentation says of each of its variables.

Table-driven from `harness.model.servers.image_variables`: every variable of every contract (and
each `_FILE` form) is set by at least one case below, on every local image that plays that contract
(MariaDB 10.11 and 11.8 for `mariadb`, Oracle MySQL 9.7 for `mysql`, PostgreSQL 15, 17 and 18 for
`postgres`), and each case checks on the running server what the variable promises: who can log in
from the network, what was created, where the files went, and which variables, options and mounts
make the image refuse to start.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from testcontainers.core.container import DockerContainer

from harness.containers.database import start_database
from harness.containers.engine import Engine, Session
from harness.containers.managed import ManagedContainer
from harness.containers.readiness import wait_until_ready
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.servers.image_variables import CONTRACTS
from harness.model.spec import Mount, MountKind

SECRETS = "/run/test-secrets"
ACCESS_DENIED = 1045
MUST_CHANGE_PASSWORD = 1820  # MariaDB: in, but only to change it
MUST_CHANGE_PASSWORD_LOGIN = 1862  # MySQL: refused at login to a client that cannot change it


def _mariadb_hash(password: str) -> str:
    """MariaDB's `PASSWORD()`: `*` and the upper-case hex of SHA1(SHA1(password))."""
    inner = hashlib.sha1(password.encode()).digest()  # noqa: S324 - the server's own scheme
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324


@dataclass
class Server:
    """A running stand-in of one case, and ways to question it."""

    container: ManagedContainer
    database: str

    def connect(self, user: str, password: str, database: str) -> Any:
        host, port = self.container.endpoint(DATABASES[self.database].port)
        return DATABASES[self.database].connect(
            host, port, Credentials(user, password, password, database), 5.0
        )

    def query(self, login: tuple[str, str, str], sql: str) -> list[tuple[Any, ...]]:
        connection = self.connect(*login)
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows = [tuple(row) for row in cursor.fetchall()]
            cursor.close()
            return rows
        finally:
            connection.close()

    def refused(self, login: tuple[str, str, str]) -> int | None:
        """The MySQL error code when `login` cannot log in (or query), else None."""
        import pymysql  # noqa: PLC0415

        try:
            self.query(login, "SELECT 1")
        except pymysql.err.MySQLError as error:
            return int(error.args[0])
        return None

    def shell(self, command: str) -> str:
        result = self.container.wrapped.exec_run(["bash", "-c", command], user="root")
        return str(result.output.decode().strip())

    def logs(self) -> str:
        return self.container.logs(500)


@dataclass(frozen=True)
class Case:
    id: str
    contract: str
    env: dict[str, str]
    # The login that must work once the server is up: user, password, database.
    ready_as: tuple[str, str, str] | None
    check: Callable[[Server], None] = lambda server: None
    files: dict[str, str] = field(default_factory=dict)  # SECRETS/<name> -> content
    refusal: str | None = None  # the container exits, its log saying this
    command: tuple[str, ...] = ()  # arguments after the image (options for the server)
    volume_at: str | None = None  # a named volume mounted here
    players: tuple[str, ...] = ()  # only these local images (default: the contract's)


# MariaDB contract ---------------------------------------------------------------------------


def _mariadb_names(server: Server) -> None:
    # MARIADB_ROOT_HOST defaults to %: root comes in from the network, onto any database.
    assert server.query(("root", "r-pw", "shop"), "SELECT DATABASE()") == [("shop",)]
    # Without MARIADB_INITDB_SKIP_TZINFO the time zone tables are loaded.
    assert server.query(("root", "r-pw", "mysql"), "SELECT COUNT(*) FROM time_zone_name")[0][0] > 0
    # The user is granted its database only.
    assert server.query(("app", "a-pw", "shop"), "SHOW DATABASES") == [
        ("information_schema",),
        ("shop",),
    ]


def _aliases_lose(server: Server) -> None:
    assert server.refused(("root", "old-pw", "shop")) == ACCESS_DENIED
    assert server.query(("root", "new-pw", "shop"), "SELECT 1") == [(1,)]
    assert server.query(("root", "new-pw", "mysql"), "SELECT COUNT(*) FROM time_zone_name") == [
        (0,)
    ]


def _root_in_with(password: str) -> Callable[[Server], None]:
    def check(server: Server) -> None:
        assert server.query(("root", password, "shop"), "SELECT CURRENT_USER()") == [("root@%",)]

    return check


def _root_on_localhost_only(server: Server) -> None:
    assert server.refused(("root", "r-pw", "shop")) == ACCESS_DENIED
    hosts = server.query(("app", "a-pw", "shop"), "SELECT CURRENT_USER()")
    assert hosts == [("app@%",)]
    inside = server.shell("mariadb -uroot -pr-pw --protocol=socket -N -e 'SELECT CURRENT_USER()'")
    assert inside == "root@localhost"


def _hashes(server: Server) -> None:
    assert server.query(("root", "r-pw", "shop"), "SELECT CURRENT_USER()") == [("root@%",)]
    assert server.query(("app", "a-pw", "shop"), "SELECT CURRENT_USER()") == [("app@%",)]
    # root@localhost got the hash too, after the init scripts.
    inside = server.shell("mariadb -uroot -pr-pw --protocol=socket -N -e 'SELECT 1'")
    assert inside == "1"


def _empty_root(server: Server) -> None:
    assert server.query(("root", "", "shop"), "SELECT CURRENT_USER()") == [("root@%",)]


def _random_root(server: Server) -> None:
    generated = re.search(r"GENERATED ROOT PASSWORD: (\S+)", server.logs())
    assert generated, "no generated password in the log"
    # The random password replaces the one given beside it, as in the official images.
    assert server.refused(("root", "given-pw", "shop")) == ACCESS_DENIED
    assert server.query(("root", generated[1], "shop"), "SELECT 1") == [(1,)]


def _localhost_user(server: Server) -> None:
    grants = server.query(("root", "r-pw", "shop"), "SHOW GRANTS FOR mysql@localhost")
    text = " ".join(row[0] for row in grants)
    assert "unix_socket" in text
    assert "GRANT PROCESS ON *.*" in text


def _upgrade_info(server: Server) -> str:
    return server.shell("ls /var/lib/mysql | grep -E '^(mariadb|mysql)_upgrade_info$'")


def _auto_upgrade(expected: str) -> Callable[[Server], None]:
    """After the data claims an older version, a restart upgrades it or only says it would."""

    def check(server: Server) -> None:
        server.shell(f"echo 10.6.21-MariaDB > /var/lib/mysql/{_upgrade_info(server)}")
        server.container.restart()
        wait_until_ready(
            server.container, DATABASES["mysql"], Credentials("app", "a-pw", "", "shop")
        )
        assert expected in server.logs()
        # The stand-ins take no backup before an upgrade (MARIADB_DISABLE_UPGRADE_BACKUP).
        assert server.shell("ls /var/lib/mysql | grep -c backup || true") == "0"

    return check


_FILES = {"root": "f-root-pw\n", "db": "shop\n", "user": "app\n", "pw": "a-pw\n", "host": "%\n"}

MARIADB_CASES = [
    Case("mariadb-names", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_DATABASE": "shop", "MARIADB_USER": "app",
          "MARIADB_PASSWORD": "a-pw"}, ("app", "a-pw", "shop"), _mariadb_names),
    Case("mysql-aliases-lose", "mariadb",
         {"MYSQL_ROOT_PASSWORD": "old-pw", "MARIADB_ROOT_PASSWORD": "new-pw",
          "MYSQL_DATABASE": "shop", "MYSQL_USER": "app", "MYSQL_PASSWORD": "a-pw",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _aliases_lose),
    Case("file-forms", "mariadb",
         {"MARIADB_ROOT_PASSWORD_FILE": f"{SECRETS}/root", "MARIADB_DATABASE_FILE": f"{SECRETS}/db",
          "MARIADB_USER_FILE": f"{SECRETS}/user", "MARIADB_PASSWORD_FILE": f"{SECRETS}/pw",
          "MARIADB_ROOT_HOST_FILE": f"{SECRETS}/host", "MARIADB_INITDB_SKIP_TZINFO": "1"},
         ("app", "a-pw", "shop"),
         _root_in_with("f-root-pw"),
         files=_FILES),
    Case("root-host-localhost", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_ROOT_HOST": "localhost",
          "MARIADB_DATABASE": "shop", "MARIADB_USER": "app", "MARIADB_PASSWORD": "a-pw",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _root_on_localhost_only),
    Case("password-hashes", "mariadb",
         {"MARIADB_ROOT_PASSWORD_HASH": _mariadb_hash("r-pw"), "MARIADB_DATABASE": "shop",
          "MARIADB_USER": "app", "MARIADB_PASSWORD_HASH": _mariadb_hash("a-pw"),
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _hashes),
    Case("hash-files", "mariadb",
         {"MARIADB_ROOT_PASSWORD_HASH_FILE": f"{SECRETS}/root", "MARIADB_DATABASE": "shop",
          "MARIADB_USER": "app", "MARIADB_PASSWORD_HASH_FILE": f"{SECRETS}/pw",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _hashes,
         files={"root": _mariadb_hash("r-pw"), "pw": _mariadb_hash("a-pw")}),
    Case("empty-root", "mariadb",
         {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1", "MARIADB_DATABASE": "shop",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("root", "", "shop"), _empty_root),
    Case("random-root", "mariadb",
         {"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_ROOT_PASSWORD": "given-pw",
          "MARIADB_DATABASE": "shop", "MARIADB_USER": "app", "MARIADB_PASSWORD": "a-pw",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _random_root),
    Case("mysql-localhost-user", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_DATABASE": "shop",
          "MARIADB_MYSQL_LOCALHOST_USER": "1", "MARIADB_MYSQL_LOCALHOST_GRANTS": "PROCESS",
          "MARIADB_INITDB_SKIP_TZINFO": "1"}, ("root", "r-pw", "shop"), _localhost_user),
    Case("auto-upgrade", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_DATABASE": "shop", "MARIADB_USER": "app",
          "MARIADB_PASSWORD": "a-pw", "MARIADB_AUTO_UPGRADE": "1",
          "MARIADB_DISABLE_UPGRADE_BACKUP": "1", "MARIADB_INITDB_SKIP_TZINFO": "1"},
         ("app", "a-pw", "shop"), _auto_upgrade("Upgrading the system tables from 10.6")),
    Case("auto-upgrade-zero-is-off", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_DATABASE": "shop", "MARIADB_USER": "app",
          "MARIADB_PASSWORD": "a-pw", "MARIADB_AUTO_UPGRADE": "0",
          "MARIADB_INITDB_SKIP_TZINFO": "1"},
         ("app", "a-pw", "shop"), _auto_upgrade("but skipped: MARIADB_AUTO_UPGRADE is not set")),
    *(
        Case(f"refuses-{variable.name}", "mariadb",
             {"MARIADB_ROOT_PASSWORD": "r-pw", variable.name: "x"}, None,
             refusal=f"{variable.name} is not supported by this stand-in")
        for variable in CONTRACTS["mariadb"].variables if variable.refused
    ),
    # A refused variable given as a file is refused too.
    Case("refuses-a-refused-file", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_REPLICATION_USER_FILE": f"{SECRETS}/user"},
         None, files=_FILES,
         refusal="MARIADB_REPLICATION_USER is not supported by this stand-in"),
    Case("both-a-variable-and-its-file", "mariadb",
         {"MARIADB_ROOT_PASSWORD": "r-pw", "MARIADB_ROOT_PASSWORD_FILE": f"{SECRETS}/root"},
         None, files=_FILES,
         refusal="both MARIADB_ROOT_PASSWORD and MARIADB_ROOT_PASSWORD_FILE are set"),
]  # fmt: skip


# mysql contract (Oracle MySQL, as the official mysql image runs it) ----------------------


def _mysql_names(server: Server) -> None:
    assert server.refused(("root", "maria-pw", "shop")) == ACCESS_DENIED  # MARIADB_* ignored
    assert server.query(("root", "r-pw", "shop"), "SELECT CURRENT_USER()") == [("root@%",)]
    assert server.query(("root", "r-pw", "mysql"), "SELECT COUNT(*) FROM time_zone_name")[0][0] > 0


def _onetime(server: Server) -> None:
    # Root must change its password before anything else (MySQL refuses the login outright to a
    # client that does not say it can).
    refused = server.refused(("root", "r-pw", "shop"))
    assert refused in (MUST_CHANGE_PASSWORD, MUST_CHANGE_PASSWORD_LOGIN), refused


def _mysql_files(server: Server) -> None:
    assert server.refused(("root", "f-root-pw", "shop")) == ACCESS_DENIED  # root@localhost only
    inside = server.shell(
        "mysql -uroot -pf-root-pw --protocol=socket -N -e "
        "'SELECT COUNT(*) FROM mysql.time_zone_name' 2>/dev/null"
    )
    assert inside == "0"  # MYSQL_INITDB_SKIP_TZINFO


MYSQL_CASES = [
    Case("mysql-names", "mysql",
         {"MYSQL_ROOT_PASSWORD": "r-pw", "MARIADB_ROOT_PASSWORD": "maria-pw",
          "MYSQL_DATABASE": "shop", "MYSQL_USER": "app", "MYSQL_PASSWORD": "a-pw"},
         ("app", "a-pw", "shop"), _mysql_names),
    Case("mysql-files-localhost-root", "mysql",
         {"MYSQL_ROOT_PASSWORD_FILE": f"{SECRETS}/root", "MYSQL_DATABASE_FILE": f"{SECRETS}/db",
          "MYSQL_USER_FILE": f"{SECRETS}/user", "MYSQL_PASSWORD_FILE": f"{SECRETS}/pw",
          "MYSQL_ROOT_HOST_FILE": f"{SECRETS}/localhost", "MYSQL_INITDB_SKIP_TZINFO": "1"},
         ("app", "a-pw", "shop"), _mysql_files, files={**_FILES, "localhost": "localhost\n"}),
    Case("mysql-onetime-password", "mysql",
         {"MYSQL_ROOT_PASSWORD": "r-pw", "MYSQL_ONETIME_PASSWORD": "1", "MYSQL_ROOT_HOST": "%",
         "MYSQL_DATABASE": "shop",
          "MYSQL_USER": "app", "MYSQL_PASSWORD": "a-pw", "MYSQL_INITDB_SKIP_TZINFO": "1"},
         ("app", "a-pw", "shop"), _onetime),
    Case("mysql-empty-root", "mysql",
         {"MYSQL_ALLOW_EMPTY_PASSWORD": "1", "MYSQL_DATABASE": "shop",
          "MYSQL_INITDB_SKIP_TZINFO": "1"}, ("root", "", "shop"), _empty_root),
    Case("mysql-random-root", "mysql",
         {"MYSQL_RANDOM_ROOT_PASSWORD": "1", "MYSQL_ROOT_PASSWORD": "given-pw",
          "MYSQL_DATABASE": "shop", "MYSQL_USER": "app", "MYSQL_PASSWORD": "a-pw",
          "MYSQL_INITDB_SKIP_TZINFO": "1"}, ("app", "a-pw", "shop"), _random_root),
    Case("mysql-reads-no-mariadb-name", "mysql", {"MARIADB_ROOT_PASSWORD": "r-pw"}, None,
         refusal="Database is uninitialized and password option is not specified"),
    # Options MySQL 8.4 and 9 removed: the server's own refusal reaches the user.
    Case("mysql-refuses-a-removed-plugin-option", "mysql", {"MYSQL_ROOT_PASSWORD": "r-pw"}, None,
         command=("--mysql-native-password=ON",),
         refusal="[ERROR] [MY-000067] [Server] unknown variable 'mysql-native-password=ON'"),
    Case("mysql-refuses-the-old-default-plugin-option", "mysql",
         {"MYSQL_ROOT_PASSWORD": "r-pw"}, None,
         command=("--default-authentication-plugin=mysql_native_password",),
         refusal="unknown variable 'default-authentication-plugin=mysql_native_password'"),
]  # fmt: skip


# postgres contract --------------------------------------------------------------------------


def _postgres_basics(server: Server) -> None:
    login = ("app", "a-pw", "shop")
    assert server.query(login, "SHOW data_checksums") == [("on",)]  # POSTGRES_INITDB_ARGS
    assert server.query(login, "SELECT current_user, current_database()") == [("app", "shop")]


def _wal_elsewhere(server: Server) -> None:
    data = server.query(("postgres", "p-pw", "postgres"), "SHOW data_directory")[0][0]
    assert server.shell(f"readlink -f {data}/pg_wal") == "/var/lib/postgresql/wal"


def _pgdata(server: Server) -> None:
    data = server.query(("postgres", "p-pw", "postgres"), "SHOW data_directory")
    assert data == [("/var/lib/postgresql/pgdata",)]


def _data_directory_is(server: Server, path: str) -> None:
    data = server.query(("postgres", "p-pw", "postgres"), "SHOW data_directory")
    assert data == [(path,)]


def _trust(server: Server) -> None:
    # No password at all: `trust` lets anyone in from the network.
    assert server.query(("postgres", "wrong", "postgres"), "SELECT 1") == [(1,)]


POSTGRES_CASES = [
    Case("postgres-names", "postgres",
         {"POSTGRES_PASSWORD": "a-pw", "POSTGRES_USER": "app", "POSTGRES_DB": "shop",
          "POSTGRES_INITDB_ARGS": "--data-checksums"}, ("app", "a-pw", "shop"), _postgres_basics),
    Case("postgres-file-forms", "postgres",
         {"POSTGRES_PASSWORD_FILE": f"{SECRETS}/pw", "POSTGRES_USER_FILE": f"{SECRETS}/user",
          "POSTGRES_DB_FILE": f"{SECRETS}/db", "POSTGRES_INITDB_ARGS_FILE": f"{SECRETS}/args"},
         ("app", "a-pw", "shop"), _postgres_basics, files={**_FILES, "args": "--data-checksums"}),
    Case("postgres-waldir", "postgres",
         {"POSTGRES_PASSWORD": "p-pw", "POSTGRES_INITDB_WALDIR": "/var/lib/postgresql/wal"},
         ("postgres", "p-pw", "postgres"), _wal_elsewhere),
    Case("postgres-pgdata", "postgres",
         {"POSTGRES_PASSWORD": "p-pw", "PGDATA": "/var/lib/postgresql/pgdata"},
         ("postgres", "p-pw", "postgres"), _pgdata),
    Case("postgres-trust", "postgres", {"POSTGRES_HOST_AUTH_METHOD": "trust"},
         ("postgres", "", "postgres"), _trust),
    # PostgreSQL 18's layout: a mount at the old data directory is refused as unused, ...
    Case("postgres-18-refuses-a-mount-at-the-old-data-directory", "postgres",
         {"POSTGRES_PASSWORD": "p-pw"}, None, volume_at="/var/lib/postgresql/data",
         refusal="there appears to be PostgreSQL data in: /var/lib/postgresql/data (unused "
                 "mount/volume)", players=("postgres-18",)),
    # ... a mount at the VOLUME keeps the data in the major-version directory below it, ...
    Case("postgres-18-keeps-its-data-below-the-volume", "postgres",
         {"POSTGRES_PASSWORD": "p-pw"}, ("postgres", "p-pw", "postgres"),
         lambda server: _data_directory_is(server, "/var/lib/postgresql/18/docker"),
         volume_at="/var/lib/postgresql", players=("postgres-18",)),
    # ... and a PGDATA of the user's own is still honoured, the old mount with it.
    Case("postgres-18-honours-a-pgdata-of-the-users", "postgres",
         {"POSTGRES_PASSWORD": "p-pw", "PGDATA": "/var/lib/postgresql/data"},
         ("postgres", "p-pw", "postgres"),
         lambda server: _data_directory_is(server, "/var/lib/postgresql/data"),
         volume_at="/var/lib/postgresql/data", players=("postgres-18",)),
]  # fmt: skip

CASES = [*MARIADB_CASES, *MYSQL_CASES, *POSTGRES_CASES]
# The local images that play each contract.
PLAYERS = {
    "mariadb": ("mariadb-10.11", "mariadb-11.8"),
    "mysql": ("mysql-9.7",),
    "postgres": ("postgres-15", "postgres-17", "postgres-18"),
}


def test_every_variable_and_file_form_of_every_contract_is_set_by_a_case() -> None:
    for contract in CONTRACTS.values():
        set_here = {name for case in CASES if case.contract == contract.name for name in case.env}
        for variable in contract.variables:
            assert variable.name in set_here, f"{contract.name}: {variable.name}"
            if variable.file_form and not variable.refused:
                assert f"{variable.name}_FILE" in set_here, f"{contract.name}: {variable.name}"


@pytest.fixture
def start(
    harness_engine: Engine, harness_test_session: Session, tmp_path: Path
) -> Iterator[Callable[[Case, str], Server]]:
    started: list[ManagedContainer] = []

    def run(case: Case, image: str) -> Server:
        database = CONTRACTS[case.contract].database
        env = dict(case.env)
        mounts: tuple[Mount, ...] = ()
        if case.volume_at:
            name = f"harness-contract-{uuid.uuid4().hex[:12]}"
            volume = harness_engine.create_volume(name, harness_test_session.labels)
            mounts = (Mount(MountKind.VOLUME, volume, case.volume_at),)
        if case.files:
            tmp_path.chmod(0o755)  # the server's own user reads them
            for name, content in case.files.items():
                (tmp_path / name).write_text(content)
                (tmp_path / name).chmod(0o644)
            mounts = (*mounts, Mount(MountKind.BIND, str(tmp_path), SECRETS, read_only=True))
        container = DockerContainer(image, env=env)
        if case.command:
            container.with_command(list(case.command))
        from harness.containers.engine import sdk_mounts  # noqa: PLC0415
        from harness.model.spec import ContainerSpec  # noqa: PLC0415

        container.with_kwargs(mounts=sdk_mounts(ContainerSpec(image, mounts=mounts)))
        managed = start_database(
            harness_engine, harness_test_session, container, DATABASES[database]
        )
        started.append(managed)
        return Server(managed, database)

    yield run
    for container in started:
        container.remove(volumes=True)


@pytest.mark.parametrize(
    ("case", "player"),
    [
        pytest.param(case, player, id=f"{player}-{case.id}")
        for case in CASES
        for player in case.players or PLAYERS[case.contract]
    ],
)
def test_the_stand_in_does_what_the_official_image_documents(
    case: Case,
    player: str,
    local_versions: dict[str, str],
    start: Callable[[Case, str], Server],
) -> None:
    server = start(case, local_versions[player])
    if case.refusal:
        result = server.container.wrapped.wait(timeout=60)
        assert result["StatusCode"] != 0
        assert case.refusal in server.logs()
        return
    assert case.ready_as is not None
    user, password, database = case.ready_as
    profile = DATABASES[server.database]
    wait_until_ready(
        server.container, profile, Credentials(user, password, password, database)
    ).close()
    case.check(server)
