"""Whom the harness logs in as, from a container's configuration read through the variables table.

The harness reads the Persons rows over the network, so it needs a user whose password it
knows: the application user when the configuration creates one, else root. Where neither will
do, `Unusable` says why in the words of the image the user chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.model.credentials import Credentials
from harness.model.image_variables import (
    CONTRACT_VARIABLE,
    FromFile,
    ImageContract,
    Role,
    ambiguous,
    contract_for,
    refused,
    resolve,
)


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
    when it names none, and which official image's variables (`mysql` or `mariadb`: the one the
    user typed) a MariaDB stand-in plays."""
    contract = contract_for(typed_image, database)
    added = {}
    variable = contract.variable(Role.DATABASE)
    if variable and not resolve(contract, env)[variable.name]:
        added[variable.name] = APPLICATION_DATABASE
    if contract.database == "mysql":
        added[CONTRACT_VARIABLE] = contract.name
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
