"""Local image tags are a hash of their build inputs."""

from __future__ import annotations

import re
from pathlib import Path

from harness.images.recipes import (
    BASE,
    BASE_FORKY,
    BASE_SID,
    BASE_TRIXIE,
    VERSION_IMAGES,
    LocalImage,
    build_order,
)

MARIADB_10 = VERSION_IMAGES["mariadb", "10.11"]
MARIADB_11 = VERSION_IMAGES["mariadb", "11.8"]
POSTGRES_15 = VERSION_IMAGES["postgres", "15"]
POSTGRES_17 = VERSION_IMAGES["postgres", "17"]


def _image(context: Path, parent: LocalImage | None = None, **kwargs: object) -> LocalImage:
    return LocalImage(name="db", context=context, parent=parent, **kwargs)  # type: ignore[arg-type]


def _context(tmp_path: Path, name: str, dockerfile: str = "FROM base\n") -> Path:
    context = tmp_path / name
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    (context / "entrypoint.sh").write_text('#!/bin/sh\nexec "$@"\n')
    return context


def test_same_inputs_same_tag(tmp_path: Path) -> None:
    """Two identical contexts give the same tag: an unchanged rebuild is a no-op."""
    assert (
        _image(_context(tmp_path, "a")).ref.split(":")[1]
        == _image(_context(tmp_path, "b")).ref.split(":")[1]
    )


def test_changed_file_changes_tag(tmp_path: Path) -> None:
    """Editing any file of the context gives a new tag."""
    context = _context(tmp_path, "a")
    before = _image(context).ref
    (context / "entrypoint.sh").write_text("#!/bin/sh\necho changed\n")
    assert _image(context).ref != before


def test_executable_bit_is_an_input(tmp_path: Path) -> None:
    """A script that loses its executable bit breaks the image, so it counts."""
    context = _context(tmp_path, "a")
    before = _image(context).ref
    (context / "entrypoint.sh").chmod(0o755)
    assert _image(context).ref != before


def test_parent_change_propagates(tmp_path: Path) -> None:
    """A new base means new database images."""
    child_context = _context(tmp_path, "child")
    parent_one = LocalImage(name="base", context=_context(tmp_path, "p1", "one"))
    parent_two = LocalImage(name="base", context=_context(tmp_path, "p2", "two"))
    assert _image(child_context, parent_one).ref != _image(child_context, parent_two).ref


def test_build_args_are_inputs(tmp_path: Path) -> None:
    """PG_MAJOR=16 is a different image from PG_MAJOR=15."""
    context = _context(tmp_path, "a")
    assert (
        _image(context, build_args=(("PG_MAJOR", "15"),)).ref
        != _image(context, build_args=(("PG_MAJOR", "16"),)).ref
    )


def test_tag_format() -> None:
    """Refs are harness-local/<line>-<version>:<12 hex digits>."""
    repository, tag = MARIADB_10.ref.split(":")
    assert repository == "harness-local/mariadb-10.11"
    assert re.fullmatch(r"[0-9a-f]{12}", tag)
    assert tag == MARIADB_10.inputs_digest()[:12]


def test_build_order_puts_base_first_once() -> None:
    """Parents come first and shared parents once."""
    assert build_order([MARIADB_10, POSTGRES_15]) == [BASE, MARIADB_10, POSTGRES_15]


def test_each_version_builds_on_its_suite_and_says_its_major_version() -> None:
    """Bookworm packages MariaDB 10.11 and PostgreSQL 15, trixie 11.8 and 17; the build checks
    the suite's packages against the version, which it gets as a build argument."""
    assert [MARIADB_10.parent, POSTGRES_15.parent] == [BASE, BASE]
    assert [MARIADB_11.parent, POSTGRES_17.parent] == [BASE_TRIXIE, BASE_TRIXIE]
    assert dict(MARIADB_11.build_args) == {"MARIADB_MAJOR": "11.8"}
    assert dict(POSTGRES_17.build_args) == {"PG_MAJOR": "17"}
    assert len({image.ref for image in VERSION_IMAGES.values()}) == len(VERSION_IMAGES) == 6


def test_mysql_comes_from_sid_and_postgres_18_from_forky_with_its_own_layout() -> None:
    """Oracle MySQL is packaged in sid only; PostgreSQL 18 is built with the official 18 image's
    data directory and VOLUME (docker-library/postgres#1259), the older ones with the defaults."""
    mysql, postgres_18 = VERSION_IMAGES["mysql", "9.7"], VERSION_IMAGES["postgres", "18"]
    assert (mysql.parent, postgres_18.parent) == (BASE_SID, BASE_FORKY)
    assert dict(mysql.build_args) == {"MYSQL_MAJOR": "9.7"}
    assert dict(postgres_18.build_args) == {
        "PG_MAJOR": "18",
        "DATA_DIR": "/var/lib/postgresql/18/docker",
        "VOLUME_DIR": "/var/lib/postgresql",
    }
    assert mysql.context.name == "mysql"
    assert VERSION_IMAGES["mariadb", "11.8"].context.name == "mariadb"
