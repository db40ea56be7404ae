"""The table of promises, derived from the storage modes and the actions' steps."""

from __future__ import annotations

import pytest

from harness.model.engine_info import EngineInfo
from harness.model.outcomes import ByEngine, Outcome
from harness.model.platforms.actions import (
    ACTION_NAMES,
    ACTIONS,
    SINGLE_IMAGE_ACTIONS,
    Action,
    Fate,
    Step,
)
from harness.model.platforms.storage import STORAGE_MODES, STORAGE_NAMES, expect

OLD_ENGINE = EngineInfo("docker", "20.10.24", "1.41")
NEW_ENGINE = EngineInfo("docker", "25.0.3", "1.44")
S, L = Outcome.SURVIVES, Outcome.LOST
# Every outcome has its own letter: a cell wrongly refused (X) or rejected (R) reads as neither
# S nor L, so a table comparison catches it.
LETTER = {Outcome.SURVIVES: "S", Outcome.LOST: "L", Outcome.REFUSED: "X", Outcome.REJECTED: "R"}

# docs/matrix.md's table, transcribed independently of the code, for Engine 20.10 (API 1.41).
DOCUMENTED_TABLE = {
    "layer": "SSSLLLL",
    "anonymous": "SSSLLLS",
    "named": "SSSSSLS",
    "bind": "SSSSSSS",
    "tmpfs": "LLLLLLL",
}


def test_axes_are_the_contract_names() -> None:
    """Storage and action names, in the table's order, exactly as docs/contracts.md gives them."""
    assert STORAGE_NAMES == ("layer", "anonymous", "named", "bind", "tmpfs")
    assert ACTION_NAMES == (
        "restart", "stop-start", "kill-start", "recreate", "recreate-rm-v", "prune-recreate",
        "volumes-from", "upgrade",
    )  # fmt: skip


def test_every_cell_has_an_outcome_and_a_finished_reason() -> None:
    """40 cells (five storage modes x eight actions), each promising survives or lost on
    Engine 20.10 (no engine there rejects a cell, and an upgrade of unknown versions cannot be
    refused), each with a sentence that names no placeholder."""
    promises = {(s, a): expect(s, a, OLD_ENGINE) for s in STORAGE_NAMES for a in ACTION_NAMES}
    assert len(promises) == 40
    for cell, promise in promises.items():
        assert promise.outcome in (S, L), cell
        assert promise.reason.endswith("."), cell
        assert "{" not in promise.reason, cell
        assert len(promise.reason) > 20, cell


@pytest.mark.parametrize("storage", list(DOCUMENTED_TABLE))
def test_table_matches_the_documented_table_on_engine_20(storage: str) -> None:
    """What was observed on Engine 20.10.24 is what the derived table expects there."""
    observed = "".join(LETTER[expect(storage, a, OLD_ENGINE).outcome] for a in SINGLE_IMAGE_ACTIONS)
    assert observed == DOCUMENTED_TABLE[storage]


# What the next major version does per storage mode, transcribed from the projects' documents
# and what the local images did on the engine: X refused (still on disk), S survives, L lost.
UPGRADE_TABLE = {
    "postgres": {"layer": "L", "anonymous": "L", "named": "X", "bind": "X", "tmpfs": "L"},
    "mariadb": {"layer": "L", "anonymous": "L", "named": "S", "bind": "S", "tmpfs": "L"},
    "mysql": {"layer": "L", "anonymous": "L", "named": "S", "bind": "S", "tmpfs": "L"},
}


@pytest.mark.parametrize("line", list(UPGRADE_TABLE))
def test_an_upgrade_is_a_recreate_for_the_storage_then_the_new_versions_answer(line: str) -> None:
    """Storage that loses the rows on a recreate loses them on an upgrade; storage that keeps
    them hands them to the next version: PostgreSQL refuses them, MariaDB and MySQL read them."""
    observed = {s: LETTER[expect(s, "upgrade", NEW_ENGINE, line).outcome] for s in STORAGE_NAMES}
    assert observed == UPGRADE_TABLE[line]
    if line == "postgres":
        assert "pg_upgrade" in expect("named", "upgrade", NEW_ENGINE, line).reason


def test_an_upgrade_of_images_of_unknown_versions_must_keep_the_rows() -> None:
    """`upgrade-check` on a user's images: the gate demands that the rows survive."""
    assert expect("named", "upgrade", NEW_ENGINE, None).outcome is S
    assert expect("tmpfs", "upgrade", NEW_ENGINE, None).outcome is L


def test_an_unverified_engine_marks_upgrade_promises_unverified_too() -> None:
    podman_5 = EngineInfo("podman", "5.2.1", "1.41")
    promise = expect("named", "upgrade", podman_5, "postgres")
    assert promise.outcome is Outcome.REFUSED
    assert not promise.verified
    assert "judged as Podman 4.x" in promise.reason


def test_named_prune_depends_on_the_engines_kind_and_version() -> None:
    """Docker pruned unused named volumes before 23 and keeps them since; Podman 4 prunes them
    (whatever API version it is called through), Podman 6 keeps them like Docker 23."""
    assert expect("named", "prune-recreate", OLD_ENGINE).outcome is L
    assert expect("named", "prune-recreate", NEW_ENGINE).outcome is S
    assert expect("named", "prune-recreate", EngineInfo("docker", "23.0.0", "1.42")).outcome is S
    assert expect("named", "prune-recreate", EngineInfo("podman", "4.3.1", "1.45")).outcome is L
    assert expect("named", "prune-recreate", EngineInfo("podman", "6.0.0", "1.45")).outcome is S


def test_podman_4_refuses_to_inherit_a_bind_over_the_images_volume() -> None:
    podman = EngineInfo("podman", "4.3.1", "1.41")
    assert expect("bind", "volumes-from", podman).outcome is Outcome.REJECTED
    assert expect("bind", "volumes-from", NEW_ENGINE).outcome is S


def test_only_named_prune_and_bind_volumes_from_depend_on_the_engine() -> None:
    """Every other promise is the same on every engine."""
    dependent = [
        (mode.name, fate)
        for mode in STORAGE_MODES.values()
        for fate, rule in mode.promises.items()
        if isinstance(rule, ByEngine)
    ]
    assert dependent == [("named", Fate.REPLACED_AFTER_PRUNE), ("bind", Fate.INHERITED)]


@pytest.mark.parametrize(
    ("kind", "version", "judged_as"),
    [
        ("podman", "5.2.1", "Podman 4.x"),  # between the ranges: the older, measured one
        ("podman", "3.4.4", "Podman 4.x"),
        ("podman", "unknown", "Podman 4.x"),
        ("nerdctl", "2.0.0", "Docker >= 23"),  # another kind: nearest by version
    ],
)
def test_an_engine_in_no_known_range_is_judged_by_the_nearest_and_marked_unverified(
    kind: str, version: str, judged_as: str
) -> None:
    engine = EngineInfo(kind, version, "1.41")
    for storage in STORAGE_NAMES:
        for action in ACTION_NAMES:
            promise = expect(storage, action, engine)
            assert promise.verified is False
            assert f"judged as {judged_as})" in promise.reason


@pytest.mark.parametrize(
    "engine",
    [
        OLD_ENGINE,
        NEW_ENGINE,
        EngineInfo("podman", "4.3.1", "1.41"),
        EngineInfo("podman", "6.1", ""),
    ],
)
def test_an_engine_in_a_known_range_is_verified(engine: EngineInfo) -> None:
    assert all(expect(s, a, engine).verified for s in STORAGE_NAMES for a in ACTION_NAMES)


def test_every_mode_promises_every_fate() -> None:
    """A mode without a promise for some fate would leave cells of the table empty."""
    for mode in STORAGE_MODES.values():
        assert set(mode.promises) == set(Fate), mode.name


@pytest.mark.parametrize(
    ("action", "fate"),
    [
        ("restart", Fate.SAME_CONTAINER),
        ("stop-start", Fate.SAME_CONTAINER),
        ("kill-start", Fate.SAME_CONTAINER),
        ("recreate", Fate.REPLACED),
        ("recreate-rm-v", Fate.REPLACED_AFTER_RM_V),
        ("prune-recreate", Fate.REPLACED_AFTER_PRUNE),
        ("volumes-from", Fate.INHERITED),
    ],
)
def test_fate_follows_from_the_steps(action: str, fate: Fate) -> None:
    """Each action's fate is read off its steps."""
    assert ACTIONS[action].fate is fate


def test_a_new_action_gets_its_promises_without_a_table_edit() -> None:
    """An action made of known steps is promised by every mode at once (the table is derived)."""
    rm_v_then_prune = Action(
        "rm-v-prune",
        (Step.STOP, Step.REMOVE_WITH_VOLUMES, Step.PRUNE_VOLUMES, Step.RUN_NEW),
        "a recreate",
    )
    outcomes = {
        name: mode.promise(rm_v_then_prune, OLD_ENGINE).outcome
        for name, mode in STORAGE_MODES.items()
    }
    assert outcomes == {"layer": L, "anonymous": L, "named": L, "bind": S, "tmpfs": L}


def test_same_container_reason_names_the_action() -> None:
    """The kill-start reason says crash recovery did the work."""
    assert "crash recovery" in expect("named", "kill-start", OLD_ENGINE).reason
    assert "a restart" in expect("bind", "restart", OLD_ENGINE).reason


def test_command_is_what_a_person_types() -> None:
    """Reports show each action as docker commands."""
    assert ACTIONS["prune-recreate"].command == (
        "docker stop; docker rm; docker volume prune; docker run"
    )
    assert ACTIONS["kill-start"].command == "docker kill; docker start"
