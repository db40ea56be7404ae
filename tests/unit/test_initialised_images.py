"""One initialisation per run: the archive relocation, the option, and which storage uses it."""

from __future__ import annotations

import io
import tarfile
from typing import Any, cast

import pytest

from harness.errors import UsageError
from harness.frontends.options import reuse_init
from harness.model.cells import COMPOSE_MATRIX, SWARM_MATRIX, Cell, matrix
from harness.model.platforms.actions import SINGLE_IMAGE_ACTIONS
from harness.model.platforms.compose import COMPOSE_STORAGE
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.platforms.swarm import SWARM_STORAGE_NAMES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.persistence.initialised import (
    REUSE_MIN_CELLS,
    InitialisationFailed,
    InitialisedImages,
    databases_to_reuse,
    dockerfile,
    relocate_archive,
)


def _engine_archive(top_name: str = "data", sep: str = "data/") -> tarfile.TarFile:
    """What an engine's archive of /var/lib/postgresql/data looks like: Docker's entries are
    `data`, `data/PG_VERSION`; Podman's, for a volume's mount point, ``, `/PG_VERSION`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        top = tarfile.TarInfo(top_name)
        top.type, top.mode, top.uid, top.gid, top.uname = tarfile.DIRTYPE, 0o700, 999, 999, "pg"
        tar.addfile(top)
        content = b"17\n"
        version = tarfile.TarInfo(f"{sep}PG_VERSION")
        version.size, version.mode, version.uid, version.gid = len(content), 0o600, 999, 998
        tar.addfile(version, io.BytesIO(content))
        link = tarfile.TarInfo(f"{sep}pg_wal_link")
        link.type, link.linkname = tarfile.SYMTYPE, "pg_wal"
        tar.addfile(link)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer, mode="r")


def _relocated(
    targets: tuple[str, ...], top_name: str = "data", sep: str = "data/"
) -> dict[str, tarfile.TarInfo | bytes]:
    out_buffer = io.BytesIO()
    with (
        _engine_archive(top_name, sep) as source,
        tarfile.open(fileobj=out_buffer, mode="w") as out,
    ):
        relocate_archive(source, targets, out)
    out_buffer.seek(0)
    found: dict[str, Any] = {}
    with tarfile.open(fileobj=out_buffer, mode="r") as result:
        for member in result.getmembers():
            found[member.name] = member
            if member.isfile():
                found[member.name + ":content"] = cast(Any, result.extractfile(member)).read()
    return found


@pytest.mark.parametrize(
    ("top_name", "sep"), [("data", "data/"), ("", "/")], ids=["docker", "podman"]
)
def test_the_archive_moves_under_each_target_with_owners_modes_and_contents(
    top_name: str, sep: str
) -> None:
    found = _relocated(("/var/lib/postgresql/data", "/srv/harness-layer/postgres"), top_name, sep)
    for root in ("var/lib/postgresql/data", "srv/harness-layer/postgres"):
        top = cast(tarfile.TarInfo, found[root])
        assert (top.isdir(), top.mode, top.uid, top.gid) == (True, 0o700, 999, 999)
        version = cast(tarfile.TarInfo, found[f"{root}/PG_VERSION"])
        assert (version.mode, version.uid, version.gid) == (0o600, 999, 998)
        assert found[f"{root}/PG_VERSION:content"] == b"17\n"
        assert cast(tarfile.TarInfo, found[f"{root}/pg_wal_link"]).linkname == "pg_wal"
    assert not [name for name in found if name.startswith("data")]


def test_an_empty_archive_is_an_error_not_an_empty_image() -> None:
    empty = io.BytesIO()
    tarfile.open(fileobj=empty, mode="w").close()
    empty.seek(0)
    with (
        tarfile.open(fileobj=empty, mode="r") as source,
        tarfile.open(fileobj=io.BytesIO(), mode="w") as out,
        pytest.raises(InitialisationFailed),
    ):
        relocate_archive(source, ("/x",), out)


def test_the_dockerfile_adds_the_archive_over_the_original_image() -> None:
    # ADD (not COPY) keeps the archive's owners; the base is the image under test, unchanged.
    assert dockerfile("harness-local/postgres-17:abc").splitlines() == [
        "FROM harness-local/postgres-17:abc",
        "ADD initialised-data.tar /",
    ]


@pytest.mark.parametrize(
    ("option", "variable", "expected"),
    [(None, None, "auto"), ("off", None, "off"), (None, "on", "on"), ("on", "off", "on"),
     ("off", "auto", "off")],
)  # fmt: skip
def test_reuse_init_is_the_option_else_the_variable_else_auto(
    option: str | None, variable: str | None, expected: str
) -> None:
    environ = {"HARNESS_REUSE_INIT": variable} if variable else {}
    assert reuse_init(option, environ) == expected


def test_auto_reuses_for_a_database_with_enough_cells_starting_from_the_image() -> None:
    """The full matrix reuses for every database; one cell, or only bind and tmpfs cells, does
    not pay."""
    full = matrix(tuple(DATABASES), tuple(STORAGE_MODES), SINGLE_IMAGE_ACTIONS)
    assert databases_to_reuse("auto", full) == {"mysql", "mariadb", "postgres"}
    assert databases_to_reuse("auto", [Cell("mysql", "named", "recreate")]) == set()
    hidden = matrix(("mysql",), ("bind", "tmpfs"), SINGLE_IMAGE_ACTIONS)
    assert databases_to_reuse("auto", hidden) == set()
    one_row = matrix(("postgres",), ("named",), SINGLE_IMAGE_ACTIONS)
    assert len(one_row) == REUSE_MIN_CELLS - 1
    assert databases_to_reuse("auto", one_row) == set()
    assert databases_to_reuse("auto", [*one_row, Cell("postgres", "layer", "restart")]) == {
        "postgres"
    }


def test_on_and_off_ignore_the_count() -> None:
    one = [Cell("mysql", "named", "recreate")]
    assert databases_to_reuse("on", one) == {"mysql"}
    full = matrix(tuple(DATABASES), tuple(STORAGE_MODES), SINGLE_IMAGE_ACTIONS)
    assert databases_to_reuse("off", full) == set()


def test_a_database_not_chosen_keeps_the_plain_image() -> None:
    images = InitialisedImages(Credentials.random(), frozenset({"mysql"}))
    no_engine = cast(Any, None)
    chosen = images.image_for(
        no_engine, no_engine, "plain:1", DATABASES["postgres"], STORAGE_MODES["named"]
    )
    assert chosen == "plain:1"


def test_a_bad_reuse_init_variable_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="HARNESS_REUSE_INIT is 'yes'"):
        reuse_init(None, {"HARNESS_REUSE_INIT": "yes"})


@pytest.mark.parametrize("storage", ["bind", "tmpfs"])
def test_storage_that_hides_the_image_keeps_the_plain_image(storage: str) -> None:
    """A bind directory hides the image and tmpfs is a fresh initialisation: no engine is
    asked anything (it would fail: there is none here)."""
    images = InitialisedImages(Credentials.random())
    no_engine = cast(Any, None)
    chosen = images.image_for(
        no_engine, no_engine, "plain:1", DATABASES["postgres"], STORAGE_MODES[storage]
    )
    assert chosen == "plain:1"


def test_the_storage_that_starts_from_the_image() -> None:
    starts = {name for name, mode in STORAGE_MODES.items() if mode.starts_from_image}
    assert starts == {"named", "anonymous", "layer"}


def test_the_compose_storage_that_starts_from_the_image() -> None:
    """A new volume of any kind (the image's, declared, named, external) is filled from the
    image, as is the layer; a bind directory and a tmpfs are not."""
    starts = {name for name, storage in COMPOSE_STORAGE.items() if storage.starts_from_image}
    assert starts == {"layer", "anonymous", "anonymous-declared", "named", "external"}


def test_compose_cells_count_toward_reuse_and_swarm_cells_do_not() -> None:
    """`auto` counts every cell an initialised image can serve: the compose matrix's too (a
    compose run alone reuses), never a swarm's (its nodes do not hold the run's images)."""
    compose = [Cell("mysql", s, "down-up", COMPOSE_MATRIX) for s in COMPOSE_STORAGE] * 2
    assert sum(c.starts_from_image for c in compose) == 10
    assert databases_to_reuse("auto", compose) == {"mysql"}
    swarm = [Cell("mysql", s, a, SWARM_MATRIX) for s in SWARM_STORAGE_NAMES for a in ("x", "y")]
    assert not any(c.starts_from_image for c in swarm)
    assert databases_to_reuse("auto", swarm * 4) == set()
