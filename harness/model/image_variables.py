"""The environment variables of the official database images, as one table.

Every reader of a user's configuration (a student's `run.txt`, a bring-your-own container,
`upgrade-check`'s `--env`) resolves credentials and database names here, and the local images'
entrypoints implement the same rows: so a configuration means the same to the harness, to the
stand-in and to the image it stands for. The docs' variables list is printed from this table.

Three contracts: `mariadb` (the official mariadb image: `MARIADB_*` names, with the `MYSQL_*`
names as aliases that lose when both are set), `mysql` (the official mysql image: `MYSQL_*` only)
and `postgres`. The local MariaDB images follow `mariadb` unless told to play `mysql` by
`HARNESS_IMAGE_CONTRACT=mysql`, which the grader sets when a student typed `mysql:*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto

from harness.model.spec import image_name

# Read by the local MariaDB images' entrypoint: which official image's variables to honour.
CONTRACT_VARIABLE = "HARNESS_IMAGE_CONTRACT"


class Role(Enum):
    """What a variable means to the harness (the rest only matter to the image)."""

    ROOT_PASSWORD = auto()
    ROOT_PASSWORD_HASH = auto()
    EMPTY_ROOT = auto()
    RANDOM_ROOT = auto()
    ONETIME_ROOT = auto()
    ROOT_HOST = auto()
    USER = auto()
    PASSWORD = auto()
    PASSWORD_HASH = auto()
    DATABASE = auto()
    OTHER = auto()


@dataclass(frozen=True)
class Variable:
    name: str
    role: Role
    meaning: str  # what the official image does with it, for the docs
    file_form: bool = False  # `<name>_FILE` names a file holding the value
    alias: str | None = None  # the older name read when this one is unset
    default: str = ""
    # Why the stand-in refuses it (one sentence); None: honoured as the official image does.
    refused: str | None = None


@dataclass(frozen=True)
class ImageContract:
    name: str  # the official image: mariadb, mysql, postgres
    database: str  # the database profile that serves it
    variables: tuple[Variable, ...]

    def variable(self, role: Role) -> Variable | None:
        return next((v for v in self.variables if v.role is role), None)

    def name_of(self, role: Role) -> str | None:
        variable = self.variable(role)
        return variable.name if variable else None

    def named(self, role: Role) -> str:
        """How a message names the variable of `role`: `MARIADB_USER (or MYSQL_USER)`."""
        variable = self.variable(role)
        if variable is None:
            raise KeyError(role)
        return f"{variable.name} (or {variable.alias})" if variable.alias else variable.name


class FromFile(str):
    """A value given as `<name>_FILE`: a path inside the container, not the value itself."""

    __slots__ = ()


_REPLICATION = (
    "replication needs a second server, and the harness checks one server's own data; run the "
    "primary without it"
)
_HEALTHCHECK = (
    "the stand-ins ship no healthcheck.sh, so a healthcheck user would check nothing; drop it "
    "or use your own image"
)


def _mariadb(
    name: str,
    role: Role,
    meaning: str,
    *,
    file_form: bool = False,
    alias: bool = False,
    default: str = "",
    refused: str | None = None,
) -> Variable:
    """A `MARIADB_*` variable; with `alias`, its `MYSQL_*` twin is read when it is unset."""
    twin = "MYSQL_" + name.removeprefix("MARIADB_").replace("EMPTY_ROOT_", "EMPTY_")
    return Variable(name, role, meaning, file_form, twin if alias else None, default, refused)


MARIADB = ImageContract(
    "mariadb",
    "mysql",
    (
        _mariadb("MARIADB_ROOT_PASSWORD", Role.ROOT_PASSWORD, "root's password",
                 file_form=True, alias=True),
        _mariadb("MARIADB_ROOT_PASSWORD_HASH", Role.ROOT_PASSWORD_HASH,
                 "root's password as a `PASSWORD()` hash (root@localhost gets it after the init "
                 "scripts)", file_form=True),
        _mariadb("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", Role.EMPTY_ROOT,
                 "root without a password", alias=True),
        _mariadb("MARIADB_RANDOM_ROOT_PASSWORD", Role.RANDOM_ROOT,
                 "a random root password, printed in the log", alias=True),
        _mariadb("MARIADB_ROOT_HOST", Role.ROOT_HOST,
                 "the host part of the network root account (`localhost`: no network root)",
                 file_form=True, alias=True, default="%"),
        _mariadb("MARIADB_DATABASE", Role.DATABASE, "a database created at init",
                 file_form=True, alias=True),
        _mariadb("MARIADB_USER", Role.USER,
                 "a user created at init (with a password or a hash), granted the database",
                 file_form=True, alias=True),
        _mariadb("MARIADB_PASSWORD", Role.PASSWORD, "that user's password",
                 file_form=True, alias=True),
        _mariadb("MARIADB_PASSWORD_HASH", Role.PASSWORD_HASH,
                 "that user's password as a `PASSWORD()` hash", file_form=True),
        _mariadb("MARIADB_INITDB_SKIP_TZINFO", Role.OTHER,
                 "skip loading the time zone tables at init", alias=True),
        _mariadb("MARIADB_AUTO_UPGRADE", Role.OTHER,
                 "run mariadb-upgrade on data written by another version (unset or 0: only "
                 "log that it is needed)"),
        _mariadb("MARIADB_DISABLE_UPGRADE_BACKUP", Role.OTHER,
                 "skip the backup before an upgrade (the stand-ins take none either way)"),
        _mariadb("MARIADB_MYSQL_LOCALHOST_USER", Role.OTHER,
                 "create mysql@localhost, identified by the unix socket"),
        _mariadb("MARIADB_MYSQL_LOCALHOST_GRANTS", Role.OTHER,
                 "the grants of mysql@localhost (default USAGE)"),
        _mariadb("MARIADB_HEALTHCHECK_GRANTS", Role.OTHER, "grants of the healthcheck user",
                 refused=_HEALTHCHECK),
        _mariadb("MARIADB_REPLICATION_USER", Role.OTHER, "a replication user",
                 file_form=True, refused=_REPLICATION),
        _mariadb("MARIADB_REPLICATION_PASSWORD", Role.OTHER, "its password",
                 file_form=True, refused=_REPLICATION),
        _mariadb("MARIADB_REPLICATION_PASSWORD_HASH", Role.OTHER, "its password hash",
                 file_form=True, refused=_REPLICATION),
        _mariadb("MARIADB_MASTER_HOST", Role.OTHER, "the primary a replica follows",
                 file_form=True, refused=_REPLICATION),
    ),
)  # fmt: skip

MYSQL = ImageContract(
    "mysql",
    "mysql",
    (
        Variable("MYSQL_ROOT_PASSWORD", Role.ROOT_PASSWORD, "root's password", file_form=True),
        Variable("MYSQL_ALLOW_EMPTY_PASSWORD", Role.EMPTY_ROOT, "root without a password"),
        Variable("MYSQL_RANDOM_ROOT_PASSWORD", Role.RANDOM_ROOT,
                 "a random root password, printed in the log"),
        Variable("MYSQL_ONETIME_PASSWORD", Role.ONETIME_ROOT,
                 "root@'%' must change its password at first login"),
        Variable("MYSQL_ROOT_HOST", Role.ROOT_HOST,
                 "the host part of the network root account (`localhost`: no network root)",
                 file_form=True, default="%"),
        Variable("MYSQL_DATABASE", Role.DATABASE, "a database created at init", file_form=True),
        Variable("MYSQL_USER", Role.USER,
                 "a user created at init (with a password), granted the database",
                 file_form=True),
        Variable("MYSQL_PASSWORD", Role.PASSWORD, "that user's password", file_form=True),
        Variable("MYSQL_INITDB_SKIP_TZINFO", Role.OTHER,
                 "skip loading the time zone tables at init"),
    ),
)  # fmt: skip

POSTGRES = ImageContract(
    "postgres",
    "postgres",
    (
        Variable("POSTGRES_PASSWORD", Role.PASSWORD, "the superuser's password", file_form=True),
        Variable("POSTGRES_USER", Role.USER, "the superuser's name", file_form=True,
                 default="postgres"),
        Variable("POSTGRES_DB", Role.DATABASE, "a database created at init (default: the "
                 "user's name)", file_form=True),
        Variable("POSTGRES_INITDB_ARGS", Role.OTHER, "extra arguments for initdb",
                 file_form=True),
        Variable("POSTGRES_INITDB_WALDIR", Role.OTHER,
                 "where initdb puts the write-ahead log (a symlink from the data directory)"),
        Variable("POSTGRES_HOST_AUTH_METHOD", Role.OTHER,
                 "the pg_hba method for network connections (default scram-sha-256; `trust` "
                 "needs no password)"),
        Variable("PGDATA", Role.OTHER, "the data directory (default /var/lib/postgresql/data)"),
    ),
)  # fmt: skip

CONTRACTS: dict[str, ImageContract] = {c.name: c for c in (MARIADB, MYSQL, POSTGRES)}


def contract_for(image: str | None, database: str) -> ImageContract:
    """The contract of an image: by its repository's name (`mysql:8.4`, `docker.io/mariadb`),
    else the one the local image of `database` follows (MariaDB's: it is MariaDB)."""
    name = image_name(image) if image else None
    if name in CONTRACTS and CONTRACTS[name].database == database:
        return CONTRACTS[name]
    return MARIADB if database == "mysql" else POSTGRES


def resolve(contract: ImageContract, env: Mapping[str, str]) -> dict[str, str]:
    """Each of the contract's variables as its entrypoint resolves it: the variable, else its
    `_FILE` form (a `FromFile` path), else its alias resolved the same way, else its default.
    Unset variables map to ""."""

    def one(name: str, file_form: bool, default: str) -> str:
        if env.get(name):
            return env[name]
        if file_form and env.get(name + "_FILE"):
            return FromFile(env[name + "_FILE"])
        return default

    resolved: dict[str, str] = {}
    for variable in contract.variables:
        fallback = variable.default
        if variable.alias:
            fallback = one(variable.alias, variable.file_form, variable.default)
        resolved[variable.name] = one(variable.name, variable.file_form, fallback)
    return resolved


def ambiguous(contract: ImageContract, env: Mapping[str, str]) -> str | None:
    """A variable set both directly and as `_FILE` (the official images refuse to start)."""
    for variable in contract.variables:
        for name in filter(None, (variable.name, variable.alias)):
            if variable.file_form and env.get(name) and env.get(name + "_FILE"):
                return name
    return None


def refused(contract: ImageContract, env: Mapping[str, str]) -> Variable | None:
    """The first variable `env` sets that the stand-ins refuse."""
    for variable in contract.variables:
        if variable.refused and (env.get(variable.name) or env.get(variable.name + "_FILE")):
            return variable
    return None
