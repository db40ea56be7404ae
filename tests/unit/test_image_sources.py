"""Which image each database runs, decided without an engine."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.images import (
    DATABASE_IMAGES,
    ImageSource,
    choose_images,
    missing_images_error,
    resolve_source,
)
from harness.images.sources import describe_choices
from harness.model.servers.databases import DEFAULT_DATABASES


def never(_ref: str) -> bool:
    return False


def always(_ref: str) -> bool:
    return True


def test_option_wins_over_environment() -> None:
    """--images beats HARNESS_IMAGES."""
    assert resolve_source("official", {"HARNESS_IMAGES": "local"}) is ImageSource.OFFICIAL


def test_environment_used_when_no_option() -> None:
    """HARNESS_IMAGES applies when --images is absent, case-insensitively."""
    assert resolve_source(None, {"HARNESS_IMAGES": "LOCAL"}) is ImageSource.LOCAL


def test_default_is_auto() -> None:
    """Neither set means auto."""
    assert resolve_source(None, {}) is ImageSource.AUTO


def test_unknown_source_names_origin_and_choices() -> None:
    """A bad value is a usage error naming where it came from and what is allowed."""
    with pytest.raises(UsageError, match=r"HARNESS_IMAGES='cloud'.*auto, official, local"):
        resolve_source(None, {"HARNESS_IMAGES": "cloud"})


def test_local_source_uses_local_builds() -> None:
    """local ignores official availability."""
    choices = choose_images(ImageSource.LOCAL, {}, always, databases=DEFAULT_DATABASES)
    assert [(c.database, c.ref, c.origin) for c in choices] == [
        ("mysql", DATABASE_IMAGES["mysql"].ref, "local"),
        ("postgres", DATABASE_IMAGES["postgres"].ref, "local"),
    ]


def test_official_source_uses_reference_tags_even_when_absent() -> None:
    """official means mysql:9.7 and postgres:18, present or not."""
    choices = choose_images(ImageSource.OFFICIAL, {}, never, databases=DEFAULT_DATABASES)
    assert [c.ref for c in choices] == ["mysql:9.7", "postgres:18"]


def test_auto_mixes_per_database() -> None:
    """auto takes the official image where available and the local build elsewhere."""
    choices = choose_images(
        ImageSource.AUTO, {}, lambda ref: ref.startswith("postgres"), databases=DEFAULT_DATABASES
    )
    assert [c.origin for c in choices] == ["local", "official"]


def test_override_beats_any_source() -> None:
    """--mysql-image replaces the reference whatever the source."""
    choices = choose_images(
        ImageSource.LOCAL,
        {"mysql": "myorg/db:1.4", "postgres": None},
        never,
        databases=DEFAULT_DATABASES,
    )
    assert (choices[0].ref, choices[0].origin) == ("myorg/db:1.4", "override")
    assert choices[1].origin == "local"


def test_description_is_one_line_naming_each_choice() -> None:
    """The run says which images it uses, in one line."""
    line = describe_choices(
        ImageSource.AUTO, choose_images(ImageSource.AUTO, {}, always, databases=DEFAULT_DATABASES)
    )
    assert line == (
        "images (auto): mysql=mysql:9.7 (official MySQL 9.7), "
        "postgres=postgres:18 (official PostgreSQL 18)"
    )


def test_missing_local_image_points_to_make_images() -> None:
    """A missing local build names the refs and `make images`, in one sentence."""
    error = missing_images_error(
        choose_images(ImageSource.LOCAL, {}, never, databases=DEFAULT_DATABASES)[:1]
    )
    assert str(error).startswith(f"Image(s) {DATABASE_IMAGES['mysql'].ref} are not on the engine")
    assert "`make images`" in str(error)
    assert error.exit_code == 2


def test_missing_official_image_points_to_images_build() -> None:
    """A missing official image names the command that pulls it."""
    error = missing_images_error(
        choose_images(ImageSource.OFFICIAL, {}, never, databases=DEFAULT_DATABASES)
    )
    assert "mysql:9.7, postgres:18" in str(error)
    assert "images build --images official" in str(error)
