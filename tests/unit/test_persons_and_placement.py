"""Persons rows, the survives/lost verdict, and where data lives, without an engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymysql.err
import pytest

from harness.errors import UsageError
from harness.model.holders import ObservedMount
from harness.model.outcomes import Outcome
from harness.model.placement import LAYER_ROOT, ImageFacts, covering, place
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.databases import DATABASES
from harness.model.servers.persons import NOTES_ROW, PERSONS_ROWS, MissingData, observe
from harness.model.spec import ContainerSpec, Mount, MountKind


class FakeCursor:
    def __init__(self, rows: Sequence[Sequence[Any]] | Exception) -> None:
        self.rows = rows

    def execute(self, query: str, params: Sequence[Any] = ()) -> None:
        if isinstance(self.rows, Exception):
            raise self.rows

    def fetchall(self) -> Sequence[Sequence[Any]]:
        assert not isinstance(self.rows, Exception)
        return self.rows

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, rows: Sequence[Sequence[Any]] | Exception) -> None:
        self.rows = rows

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.rows)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


MYSQL = DATABASES["mysql"]


def test_rows_start_with_the_notes_row_and_cover_hard_cases() -> None:
    """The notes' row first; then quotes, non-ASCII text and NULLs."""
    assert PERSONS_ROWS[0] == NOTES_ROW == (1, "test", "test", "test", "test")
    text = [v for row in PERSONS_ROWS for v in row[1:] if isinstance(v, str)]
    assert any("'" in v for v in text)
    assert any('"' in v for v in text)
    assert any(not v.isascii() for v in text)
    assert any(v is None for row in PERSONS_ROWS for v in row)
    assert len({row[0] for row in PERSONS_ROWS}) == len(PERSONS_ROWS)


def test_full_row_set_means_survives() -> None:
    """Every row back, equal: survives."""
    seen = observe(MYSQL.classify_missing, lambda: FakeConnection(list(PERSONS_ROWS)))
    assert (seen.outcome, seen.rows_read) == (Outcome.SURVIVES, len(PERSONS_ROWS))


def test_one_changed_value_means_lost() -> None:
    """A single differing value is not survival."""
    rows = [list(r) for r in PERSONS_ROWS]
    rows[2][2] = "Zoe"
    seen = observe(MYSQL.classify_missing, lambda: FakeConnection(rows))
    assert (seen.outcome, seen.detail) == (Outcome.LOST, "rows differ")


def test_missing_table_is_an_observation() -> None:
    """MySQL error 1146 reads as 'lost (table missing)', not an error."""
    error = pymysql.err.ProgrammingError(1146, "Table 'employees.Persons' doesn't exist")
    seen = observe(MYSQL.classify_missing, lambda: FakeConnection(error))
    assert (seen.outcome, seen.rows_read, seen.detail) == (Outcome.LOST, 0, "table missing")


def test_missing_database_is_an_observation() -> None:
    """A connection refused for a missing database reads as 'lost (database missing)'."""

    def connect() -> FakeConnection:
        raise MissingData("database")

    assert observe(MYSQL.classify_missing, connect).detail == "database missing"


def test_other_errors_are_not_observations() -> None:
    """A broken connection is not 'lost': it propagates."""
    error = pymysql.err.OperationalError(2013, "Lost connection")
    with pytest.raises(pymysql.err.OperationalError):
        observe(MYSQL.classify_missing, lambda: FakeConnection(error))


def _facts(volumes: tuple[str, ...], env: dict[str, str] | None = None) -> ImageFacts:
    return ImageFacts(ref="img", env=env or {}, declared_volumes=volumes, cmd=("mysqld",))


def test_covering_picks_deepest_declared_path() -> None:
    """Nested volumes: the deepest one holds the file; siblings with a shared prefix do not."""
    assert covering(["/var/lib", "/var/lib/mysql"], "/var/lib/mysql/ibdata1") == "/var/lib/mysql"
    assert covering(["/var/lib/mysql"], "/var/lib/mysql-files") is None


def test_postgres_18_mounts_its_declared_parent_volume() -> None:
    """postgres:18 keeps PGDATA below its declared /var/lib/postgresql: mount that."""
    facts = _facts(("/var/lib/postgresql",), {"PGDATA": "/var/lib/postgresql/18/docker"})
    placement = place(DATABASES["postgres"], facts, in_layer=False)
    assert placement.data_dir == "/var/lib/postgresql/18/docker"
    assert placement.mount_target == "/var/lib/postgresql"


def test_layer_mode_relocates_mysql_by_argument_and_postgres_by_env() -> None:
    """MySQL gets --datadir after the image's command; PostgreSQL gets PGDATA."""
    mysql = place(MYSQL, _facts(("/var/lib/mysql",)), in_layer=True)
    assert mysql.command == ["mysqld", f"--datadir={LAYER_ROOT}/mysql"]
    postgres = place(DATABASES["postgres"], _facts(("/var/lib/postgresql/data",)), in_layer=True)
    assert postgres.env == {"PGDATA": f"{LAYER_ROOT}/postgres"}
    assert postgres.command is None


def test_layer_mode_refuses_an_image_that_declares_a_volume_over_it() -> None:
    """If the image declares a volume over the relocation target, the layer mode cannot work."""
    with pytest.raises(UsageError, match="outside every declared volume"):
        place(MYSQL, _facts(("/srv",)), in_layer=True)


def test_anonymous_mode_rejects_data_dir_outside_any_volume() -> None:
    """An image without VOLUME over its data dir gets no verdict, but a reason to fix it."""
    anonymous = STORAGE_MODES["anonymous"]
    problem = anonymous.placement_problem(None, None)
    assert problem is not None
    assert "declares no VOLUME" in problem
    assert anonymous.placement_problem(ObservedMount("volume", "/d", name="abc"), None) is None
    assert STORAGE_MODES["layer"].placement_problem(None, None) is None


def test_named_mode_rejects_a_volume_that_is_not_its_own() -> None:
    """The data directory on some other volume is not the named mode's."""
    named = STORAGE_MODES["named"]
    theirs = ObservedMount("volume", "/var/lib/mysql", name="someone-elses")
    assert named.placement_problem(theirs, "ours") == (
        "the data directory is not on the named volume ours"
    )
    assert named.placement_problem(ObservedMount("volume", "/d", name="ours"), "ours") is None


def test_storage_modes_add_their_mount_and_refuse_an_overlapping_one() -> None:
    """named mounts its volume, bind its directory, tmpfs a tmpfs; a user's own mount at the
    same place is a one-sentence UsageError."""
    base = ContainerSpec("img")
    assert STORAGE_MODES["named"].configure(base, "/data", "vol").mounts == (
        Mount(MountKind.VOLUME, "vol", "/data"),
    )
    assert STORAGE_MODES["bind"].configure(base, "/data", "/srv/host-dir").mounts == (
        Mount(MountKind.BIND, "/srv/host-dir", "/data"),
    )
    assert STORAGE_MODES["tmpfs"].configure(base, "/data", None).tmpfs == ("/data",)
    assert STORAGE_MODES["anonymous"].configure(base, "/data", None) == base
    users = base.with_mount(Mount(MountKind.VOLUME, "mine", "/data/sub"))
    with pytest.raises(UsageError, match="overlaps /data"):
        STORAGE_MODES["named"].configure(users, "/data", "vol")
