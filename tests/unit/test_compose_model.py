"""The compose matrix's table and files, without an engine."""

from __future__ import annotations

import pytest

from harness.model.cells import COMPOSE_MATRIX, Cell
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.placement import Placement
from harness.model.platforms.compose import (
    COMPOSE_ACTION_NAMES,
    COMPOSE_ACTIONS,
    COMPOSE_STORAGE_NAMES,
    ComposeFate,
    compose_promise,
    unverified_because,
)
from harness.model.platforms.compose_file import compose_project
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES

# The promises, transcribed apart from the code (S survives, L lost) in the order of
# COMPOSE_ACTION_NAMES, as observed on Docker 20.10.24 with Compose 2.40.3 (`pytest -m compose`);
# `upgrade` is the recreate's promise, before the next version's own verdict (S or refused).
TRANSCRIBED = {
    "layer": "SSSLLLLLL",
    "anonymous": "SSSSLLLLS",
    "anonymous-declared": "SSSSLLLLS",
    "named": "SSSSSSLLS",
    "external": "SSSSSSSSS",
    "bind": "SSSSSSSSS",
    "tmpfs": "LLLLLLLLL",
}


def test_the_names_are_the_contracts() -> None:
    assert COMPOSE_ACTION_NAMES == (
        "restart", "stop-start", "kill-start", "force-recreate", "renew-anon-volumes",
        "down-up", "down-v-up", "rename-project", "upgrade",
    )  # fmt: skip
    assert COMPOSE_STORAGE_NAMES == (
        "layer", "anonymous", "anonymous-declared", "named", "external", "bind", "tmpfs",
    )  # fmt: skip
    assert Cell("mysql", "named", "down-up", COMPOSE_MATRIX).id == "compose-mysql-named-down-up"


@pytest.mark.parametrize("storage", list(TRANSCRIBED))
def test_every_promise_is_the_transcribed_table(storage: str) -> None:
    letters = "".join(
        {Outcome.SURVIVES: "S", Outcome.LOST: "L"}[compose_promise(storage, action).outcome]
        for action in COMPOSE_ACTION_NAMES
    )
    assert letters == TRANSCRIBED[storage]


def test_every_reason_is_a_filled_sentence() -> None:
    for storage in COMPOSE_STORAGE_NAMES:
        for action in COMPOSE_ACTION_NAMES:
            reason = compose_promise(storage, action).reason
            assert reason
            assert "{" not in reason


def test_actions_say_the_commands_a_user_types() -> None:
    assert COMPOSE_ACTIONS["down-v-up"].command == "docker compose down -v; docker compose up -d"
    assert COMPOSE_ACTIONS["renew-anon-volumes"].command.endswith("--force-recreate -V")
    assert COMPOSE_ACTIONS["rename-project"].renames_project
    assert not COMPOSE_ACTIONS["down-up"].renames_project
    assert COMPOSE_ACTIONS["upgrade"].fate is ComposeFate.RECREATED


def _project(
    storage: str, external: str | None = None, publish: str | None = "127.0.0.1::3306"
) -> dict[str, object]:
    creds = Credentials("app", "app-secret", "root-secret", "employees")
    placement = Placement("/var/lib/mysql", "/var/lib/mysql", {}, None)
    project = compose_project(
        DATABASES["mysql"], "img:1", storage, placement, creds, {"harness.session": "s1"},
        publish=publish, external_volume=external,
    )  # fmt: skip
    assert "app-secret" not in str(project.file)  # passwords only in the secret files
    assert sorted(project.secret_files.values()) == ["app-secret", "root-secret"]
    return project.file


@pytest.mark.parametrize(
    ("storage", "volumes", "top_volumes", "tmpfs"),
    [
        ("anonymous", None, None, None),
        ("anonymous-declared", ["/var/lib/mysql"], None, None),
        ("named", ["data:/var/lib/mysql"], {"data": {"labels": {"harness.session": "s1"}}}, None),
        ("external", ["data:/var/lib/mysql"], {"data": {"external": True, "name": "ext1"}}, None),
        ("bind", ["./data:/var/lib/mysql"], None, None),
        ("tmpfs", None, None, ["/var/lib/mysql"]),
    ],
)
def test_each_storage_mode_is_declared_as_a_user_would(
    storage: str, volumes: object, top_volumes: object, tmpfs: object
) -> None:
    file = _project(storage, "ext1")
    service = file["services"]["db"]  # type: ignore[index]
    assert service.get("volumes") == volumes
    assert file.get("volumes") == top_volumes
    assert service.get("tmpfs") == tmpfs
    assert service["labels"] == {"harness.session": "s1"}
    assert file["networks"] == {"default": {"labels": {"harness.session": "s1"}}}
    assert service["environment"]["MYSQL_PASSWORD_FILE"] == "/run/secrets/mysql_password"


def test_the_port_is_published_only_when_the_container_is_not_reached_at_its_address() -> None:
    published = _project("named")["services"]["db"]  # type: ignore[index]
    assert published["ports"] == ["127.0.0.1::3306"]
    reached_at_address = _project("named", publish=None)["services"]["db"]  # type: ignore[index]
    assert "ports" not in reached_at_address


def test_the_external_mode_needs_a_volume_made_beforehand() -> None:
    with pytest.raises(ValueError, match="external mode needs"):
        _project("external")


@pytest.mark.parametrize(
    ("compose", "engine", "unverified"),
    [
        ("2.40.3", EngineInfo("docker", "20.10.24+dfsg1", "1.41"), None),
        ("2.40.0", EngineInfo("docker", "26.1.5+dfsg1", "1.45"), None),
        ("2.40.3", EngineInfo("podman", "4.3.1", "1.41"), None),
        ("2.26.1", EngineInfo("docker", "20.10.24", "1.41"),
         "unverified: the table was observed with Compose 2.40, not 2.26.1"),
        ("2.40.3", EngineInfo("podman", "5.2.0", "1.41"),
         "unverified: the table was not observed on podman 5.2.0"),
    ],
)  # fmt: skip
def test_the_table_is_marked_unverified_outside_what_was_observed(
    compose: str, engine: EngineInfo, unverified: str | None
) -> None:
    assert unverified_because(compose, engine) == unverified
