"""The official images' variables table: how a configuration resolves, and whom it lets in."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model.servers.credentials import Credentials
from harness.model.servers.image_variables import (
    CONTRACTS,
    MARIADB,
    MYSQL,
    POSTGRES,
    FromFile,
    Unusable,
    contract_for,
    read_credentials,
    resolve,
)

CONTEXT = Path(__file__).parents[2] / "harness" / "images" / "context"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        # The MARIADB_* name wins over its MYSQL_* alias when both are set, as in the image.
        ({"MYSQL_ROOT_PASSWORD": "old", "MARIADB_ROOT_PASSWORD": "new"}, "new"),
        ({"MYSQL_ROOT_PASSWORD": "old"}, "old"),
        ({"MARIADB_ROOT_PASSWORD": "new"}, "new"),
        # Its file form wins over the alias too; the value is the file's path, marked as such.
        ({"MYSQL_ROOT_PASSWORD": "old", "MARIADB_ROOT_PASSWORD_FILE": "/s/pw"}, FromFile("/s/pw")),
        ({"MYSQL_ROOT_PASSWORD_FILE": "/s/old"}, FromFile("/s/old")),
        ({}, ""),
    ],
)
def test_mariadb_names_win_over_their_mysql_aliases(env: dict[str, str], expected: str) -> None:
    value = resolve(MARIADB, env)["MARIADB_ROOT_PASSWORD"]
    assert value == expected
    assert isinstance(value, FromFile) == isinstance(expected, FromFile)


def test_defaults_reach_through_the_alias() -> None:
    assert resolve(MARIADB, {})["MARIADB_ROOT_HOST"] == "%"
    assert resolve(MARIADB, {"MYSQL_ROOT_HOST": "localhost"})["MARIADB_ROOT_HOST"] == "localhost"
    assert resolve(POSTGRES, {})["POSTGRES_USER"] == "postgres"


def test_the_empty_root_alias_is_the_mysql_images_own_name() -> None:
    alias = next(
        v.alias for v in MARIADB.variables if v.name == "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"
    )
    assert alias == "MYSQL_ALLOW_EMPTY_PASSWORD"
    assert {v.name for v in MYSQL.variables} >= {"MYSQL_ALLOW_EMPTY_PASSWORD"}


@pytest.mark.parametrize(
    ("image", "database", "contract"),
    [
        ("mysql:8.4", "mysql", "mysql"),
        ("docker.io/library/mariadb:11", "mariadb", "mariadb"),
        ("postgres:16", "postgres", "postgres"),
        ("harness-local/mariadb-10.11:abc", "mariadb", "mariadb"),
        ("myorg/db:1", "mysql", "mysql"),  # an image of your own: its database's contract
        ("myorg/db:1", "mariadb", "mariadb"),
        ("mariadb:11", "mysql", "mysql"),  # told it runs MySQL: the mysql image's variables
        ("myorg/pg:1", "postgres", "postgres"),
        (None, "postgres", "postgres"),
        ("mysql:8", "postgres", "postgres"),  # a name of another database does not count
    ],
)
def test_an_images_contract_follows_its_name(
    image: str | None, database: str, contract: str
) -> None:
    assert contract_for(image, database).name == contract


def _creds(user: str, password: str, database: str, root: str = "") -> Credentials:
    return Credentials(user, password, root, database)


@pytest.mark.parametrize(
    ("contract", "env", "expected"),
    [
        # The student: the mariadb image's own names.
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "zed", "MARIADB_DATABASE": "emp"},
         _creds("root", "zed", "emp", "zed")),
        (MARIADB, {"MYSQL_ROOT_PASSWORD": "r", "MYSQL_DATABASE": "d", "MYSQL_USER": "u",
                   "MYSQL_PASSWORD": "p"}, _creds("u", "p", "d", "r")),
        # Mixed names: MARIADB_* wins, so the user's password is the MARIADB one.
        (MARIADB, {"MYSQL_ROOT_PASSWORD": "r", "MARIADB_DATABASE": "d", "MARIADB_USER": "u",
                   "MYSQL_PASSWORD": "old", "MARIADB_PASSWORD": "new"},
         _creds("u", "new", "d", "r")),
        # A random or hashed root still lets the harness in as the application user.
        (MARIADB, {"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_DATABASE": "d",
                   "MARIADB_USER": "u", "MARIADB_PASSWORD": "p"}, _creds("u", "p", "d")),
        (MARIADB, {"MARIADB_ROOT_PASSWORD_HASH": "*AB", "MARIADB_DATABASE": "d",
                   "MARIADB_USER": "u", "MARIADB_PASSWORD": "p"}, _creds("u", "p", "d")),
        (MARIADB, {"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1", "MARIADB_DATABASE": "d"},
         _creds("root", "", "d")),
        # The mysql image reads no MARIADB_* name.
        (MYSQL, {"MYSQL_ROOT_PASSWORD": "r", "MARIADB_ROOT_PASSWORD": "x", "MYSQL_DATABASE": "d"},
         _creds("root", "r", "d", "r")),
        (POSTGRES, {"POSTGRES_PASSWORD": "p"}, _creds("postgres", "p", "postgres", "p")),
        (POSTGRES, {"POSTGRES_PASSWORD": "p", "POSTGRES_USER": "app"},
         _creds("app", "p", "app", "p")),
        (POSTGRES, {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "d"},
         _creds("postgres", "", "d")),
    ],
)  # fmt: skip
def test_configurations_that_let_the_harness_in(
    contract: object, env: dict[str, str], expected: Credentials
) -> None:
    creds = read_credentials(contract, env)  # type: ignore[arg-type]
    assert isinstance(creds, Credentials), creds
    assert (creds.user, creds.password, creds.database) == (
        expected.user,
        expected.password,
        expected.database,
    )
    assert creds.root_password == expected.root_password


@pytest.mark.parametrize(
    ("contract", "env", "says"),
    [
        (MARIADB, {"MARIADB_DATABASE": "d"},
         "sets no MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD), so the server cannot initialise"),
        (MYSQL, {"MARIADB_ROOT_PASSWORD": "r", "MYSQL_DATABASE": "d"},
         "sets no MYSQL_ROOT_PASSWORD, so the server cannot initialise"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "r"},
         "names no database (MARIADB_DATABASE or MYSQL_DATABASE)"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "r", "MARIADB_DATABASE_FILE": "/s/db"},
         "gives MARIADB_DATABASE as MARIADB_DATABASE_FILE"),
        (MARIADB, {"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_DATABASE": "d"},
         "MARIADB_RANDOM_ROOT_PASSWORD makes root's password one the harness cannot know"),
        # A random password replaces one also given, as in both official images.
        (MYSQL, {"MYSQL_RANDOM_ROOT_PASSWORD": "1", "MYSQL_ROOT_PASSWORD": "r",
                 "MYSQL_DATABASE": "d"}, "MYSQL_RANDOM_ROOT_PASSWORD"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD_HASH": "*AB", "MARIADB_DATABASE": "d"},
         "MARIADB_ROOT_PASSWORD_HASH gives root's password only as a hash"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "r", "MARIADB_DATABASE": "d",
                   "MYSQL_ROOT_HOST": "localhost"}, "MARIADB_ROOT_HOST=localhost keeps root off"),
        (MYSQL, {"MYSQL_ROOT_PASSWORD": "r", "MYSQL_DATABASE": "d", "MYSQL_ONETIME_PASSWORD": "1"},
         "MYSQL_ONETIME_PASSWORD expires root's password"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD_FILE": "/s/r", "MARIADB_DATABASE": "d"},
         "MARIADB_ROOT_PASSWORD comes from a file"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "r", "MARIADB_ROOT_PASSWORD_FILE": "/s/r"},
         "sets both MARIADB_ROOT_PASSWORD and MARIADB_ROOT_PASSWORD_FILE"),
        (MARIADB, {"MARIADB_ROOT_PASSWORD": "r", "MARIADB_DATABASE": "d",
                   "MARIADB_REPLICATION_USER": "rep"},
         "sets MARIADB_REPLICATION_USER, which the stand-ins refuse: replication needs"),
        (POSTGRES, {"POSTGRES_USER": "app"}, "sets no POSTGRES_PASSWORD"),
        (POSTGRES, {"POSTGRES_PASSWORD_FILE": "/s/pw"}, "gives POSTGRES_PASSWORD as POSTGRES_PA"),
        (POSTGRES, {"POSTGRES_HOST_AUTH_METHOD": "md5"}, "sets no POSTGRES_PASSWORD"),
        (POSTGRES, {"POSTGRES_PASSWORD": "p", "POSTGRES_DB_FILE": "/s/db"},
         "gives POSTGRES_DB as POSTGRES_DB_FILE"),
    ],
)  # fmt: skip
def test_configurations_the_harness_cannot_read_say_why_naming_the_images_variable(
    contract: object, env: dict[str, str], says: str
) -> None:
    problem = read_credentials(contract, env)  # type: ignore[arg-type]
    assert isinstance(problem, Unusable), problem
    sentence = problem.sentence("run.txt")
    assert says in sentence
    assert sentence.endswith(".")
    assert "\n" not in sentence
    assert sentence.count(";") == 1  # the problem, then the fix


def test_passwords_never_appear_in_a_problem() -> None:
    env = {"MARIADB_ROOT_PASSWORD": "hunter2-secret", "MARIADB_ROOT_PASSWORD_FILE": "/s"}
    problem = read_credentials(MARIADB, env)
    assert isinstance(problem, Unusable)
    assert "hunter2-secret" not in problem.sentence("x")


def test_every_mariadb_and_mysql_variable_is_handled_by_its_images_entrypoint() -> None:
    """Each entrypoint implements its contract's rows: each variable appears there, each refused
    one in a refusal (the contract tests on the engine check what each does); the mysql image's
    entrypoint reads no MARIADB_* variable, as the official mysql image ignores them."""
    mariadb = (CONTEXT / "mariadb" / "docker-entrypoint.sh").read_text()
    for variable in MARIADB.variables:
        assert variable.name in mariadb, variable.name
        if variable.refused:
            refusal = mariadb[mariadb.index("setup_env() {") :]
            assert variable.name in refusal[: refusal.index("mariadb_file_env MYSQL_ROOT_HOST")]
    mysql = (CONTEXT / "mysql" / "docker-entrypoint.sh").read_text()
    for variable in MYSQL.variables:
        assert variable.name in mysql, variable.name
    assert "MARIADB_" not in mysql.replace("MARIADB_* ", "")
    postgres = (CONTEXT / "postgres" / "docker-entrypoint.sh").read_text()
    for variable in POSTGRES.variables:
        assert variable.name in postgres, variable.name


def test_every_contract_names_its_roles_once() -> None:
    for contract in CONTRACTS.values():
        roles = [v.role for v in contract.variables if v.role.name != "OTHER"]
        assert len(roles) == len(set(roles)), contract.name
