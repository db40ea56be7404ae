"""The environment variables of the official database images, as one table.

Every reader of a user's configuration (a student's `run.txt`, a bring-your-own container,
`upgrade-check`'s `--env`) resolves credentials and database names here, and the local images'
entrypoints implement the same rows: so a configuration means the same to the harness, to the
stand-in and to the image it stands for. The docs' variables list is printed from this table.

Three contracts, one per database: `mariadb` (the official mariadb image: `MARIADB_*` names,
with the `MYSQL_*` names as aliases that lose when both are set), `mysql` (the official mysql
image: `MYSQL_*` only) and `postgres`. Each local image follows its database's contract.

The second half reads whom the harness logs in as from a configuration, through the table.
The harness reads the Persons rows over the network, so it needs a user whose password it
knows: the application user when the configuration creates one, else root. Where neither will
do, `Unusable` says why in the words of the image the user chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto

from harness.model.servers.credentials import Credentials
from harness.model.spec import image_name


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
    "mariadb",
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
        Variable("PGDATA", Role.OTHER, "the data directory (default /var/lib/postgresql/data; "
                 "from 18, /var/lib/postgresql/18/docker)"),
    ),
)  # fmt: skip

CONTRACTS: dict[str, ImageContract] = {c.name: c for c in (MARIADB, MYSQL, POSTGRES)}


def contract_for(image: str | None, database: str) -> ImageContract:
    """The contract of an image: by its repository's name (`mysql:8.4`, `docker.io/mariadb`),
    else the one the images of `database` follow."""
    name = image_name(image) if image else None
    if name in CONTRACTS and CONTRACTS[name].database == database:
        return CONTRACTS[name]
    return next(c for c in CONTRACTS.values() if c.database == database)


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


# --- whom the harness logs in as ---


@dataclass(frozen=True)
class Unusable:
    """What is wrong with a configuration (after "run.txt " or "The container "), and the fix."""

    problem: str
    fix: str

    def sentence(self, subject: str, how: str = "") -> str:
        return f"{subject} {self.problem}; {self.fix}{how}."


# The application database the harness names when a configuration names none.
APPLICATION_DATABASE = "employees"


def harness_additions(typed_image: str, database: str, env: Mapping[str, str]) -> dict[str, str]:
    """What the harness adds to a user's environment: a database to write the Persons rows into
    when it names none."""
    contract = contract_for(typed_image, database)
    added = {}
    variable = contract.variable(Role.DATABASE)
    if variable and not resolve(contract, env)[variable.name]:
        added[variable.name] = APPLICATION_DATABASE
    return added


def read_credentials(contract: ImageContract, env: Mapping[str, str]) -> Credentials | Unusable:
    """The credentials a container configured with `env` can be read with, or why it cannot."""
    twice = ambiguous(contract, env)
    if twice:
        return Unusable(f"sets both {twice} and {twice}_FILE, which the image refuses", "set one")
    unsupported = refused(contract, env)
    if unsupported and unsupported.refused:
        why, _, fix = unsupported.refused.partition("; ")
        return Unusable(f"sets {unsupported.name}, which the stand-ins refuse: {why}", fix)
    values = resolve(contract, env)
    if contract.database == "postgres":
        return _postgres(contract, values)
    return _mysql(contract, values)


def _value(contract: ImageContract, values: Mapping[str, str], role: Role) -> str:
    variable = contract.variable(role)
    return values[variable.name] if variable else ""


def _unreadable(contract: ImageContract, values: Mapping[str, str], *roles: Role) -> str | None:
    """The first of `roles` given as a `_FILE`, which the harness cannot read before the
    container runs."""
    for role in roles:
        if isinstance(_value(contract, values, role), FromFile):
            return contract.name_of(role)
    return None


def _mysql(contract: ImageContract, values: Mapping[str, str]) -> Credentials | Unusable:
    def value(role: Role) -> str:
        return _value(contract, values, role)

    root_options = (Role.ROOT_PASSWORD, Role.ROOT_PASSWORD_HASH, Role.EMPTY_ROOT, Role.RANDOM_ROOT)
    if not any(value(role) for role in root_options):
        return Unusable(
            f"sets no {contract.named(Role.ROOT_PASSWORD)}, so the server cannot initialise",
            "add it",
        )
    file_given = _unreadable(contract, values, Role.DATABASE)
    if file_given:
        return _from_file(file_given)
    database = value(Role.DATABASE)
    if not database:
        names = contract.named(Role.DATABASE).replace(" (or", " or").rstrip(")")
        return Unusable(
            f"names no database ({names}) for the harness to write the Persons rows into",
            "set one",
        )
    user, password = value(Role.USER), value(Role.PASSWORD)
    if user and password and not _unreadable(contract, values, Role.USER, Role.PASSWORD):
        return Credentials(user, password, _plain(value(Role.ROOT_PASSWORD)), database)
    why_not_root = _why_not_root(contract, values)
    if why_not_root:
        return Unusable(
            f"creates no user the harness can log in as: {why_not_root}",
            f"set {contract.named(Role.USER)} and {contract.named(Role.PASSWORD)} too",
        )
    root_password = value(Role.ROOT_PASSWORD)  # empty with the empty-root option
    return Credentials("root", root_password, root_password, database)


def _why_not_root(contract: ImageContract, values: Mapping[str, str]) -> str | None:
    """Why root cannot be the harness's login, or None when it can."""

    def name(role: Role) -> str:
        return contract.name_of(role) or ""

    def is_set(role: Role) -> bool:
        return bool(values.get(name(role)))

    root_password = values[name(Role.ROOT_PASSWORD)]
    host = values[name(Role.ROOT_HOST)]
    if is_set(Role.ROOT_PASSWORD_HASH):
        return f"{name(Role.ROOT_PASSWORD_HASH)} gives root's password only as a hash"
    if is_set(Role.RANDOM_ROOT):  # it replaces a root password also given
        return f"{name(Role.RANDOM_ROOT)} makes root's password one the harness cannot know"
    if isinstance(root_password, FromFile):
        return f"{name(Role.ROOT_PASSWORD)} comes from a file inside the container"
    if host in ("", "localhost"):
        return f"{name(Role.ROOT_HOST)}={host or '(empty)'} keeps root off the network"
    if is_set(Role.ONETIME_ROOT):
        return f"{name(Role.ONETIME_ROOT)} expires root's password at its first login"
    return None


def _postgres(contract: ImageContract, values: Mapping[str, str]) -> Credentials | Unusable:
    def value(role: Role) -> str:
        return _value(contract, values, role)

    password = value(Role.PASSWORD)
    trust = values.get("POSTGRES_HOST_AUTH_METHOD") == "trust"
    if not password and not trust:
        return Unusable(
            "sets no POSTGRES_PASSWORD, so the server cannot initialise",
            "add it (or POSTGRES_HOST_AUTH_METHOD=trust)",
        )
    file_given = _unreadable(contract, values, Role.PASSWORD, Role.USER, Role.DATABASE)
    if file_given:
        return _from_file(file_given)
    user = value(Role.USER)
    return Credentials(user, password, password, value(Role.DATABASE) or user)


def _from_file(name: str) -> Unusable:
    return Unusable(
        f"gives {name} as {name}_FILE, a file inside the container the harness cannot read "
        "before it runs",
        f"set {name} directly",
    )


def _plain(value: str) -> str:
    """A value the harness knows ("" for one given as a file)."""
    return "" if isinstance(value, FromFile) else value
