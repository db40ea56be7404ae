"""The CLI's error paths a user hits before any engine runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.frontends.cli.main import build_parser, program_name
from harness.model.cells import MATRICES


def _harness(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_doctor_without_engine_says_one_sentence_and_exits_2() -> None:
    """No engine: exit 2, one line naming what was tried and `make engine`, no traceback."""
    result = _harness("doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DOCKER_HOST=unix:///nonexistent/docker.sock" in lines[0]
    assert "make engine" in lines[0]


def test_bad_image_source_in_environment_exits_2() -> None:
    """HARNESS_IMAGES=bogus is a usage error, reported in one line."""
    result = _harness(
        "doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "HARNESS_IMAGES": "x"}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "HARNESS_IMAGES='x' is not an image source" in result.stderr


def test_clean_images_without_engine_is_the_engine_sentence_not_a_traceback() -> None:
    """`clean --images` is a flag of clean, not an image source: with no engine, exit 2 and
    the engine sentence (it used to end in "'bool' object has no attribute 'strip'")."""
    result = _harness(
        "clean", "--images", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": ""}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No container engine answers" in result.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["doctor", "--images", "local"], {"images": "local"}),
        (["images", "build", "--mysql-image", "m:1"], {"mysql_image": "m:1", "images": None}),
        (["images", "list", "--postgres-image", "p:1"], {"postgres_image": "p:1"}),
        (
            ["run", "--database", "mysql", "--storage", "named", "--storage", "bind",
             "--action", "recreate", "--json", "r.json", "--html", "r.html"],
            {"database": ["mysql"], "storage": ["named", "bind"], "action": ["recreate"],
             "json": Path("r.json"), "html": Path("r.html")},
        ),
        (["run"], {"database": None, "storage": None, "action": None, "json": None}),
        (["clean", "--images", "--all"], {"remove_images": True, "all": True}),
        (["clean"], {"remove_images": False, "all": False}),
        (["layers", "img:1", "--base", "base:1"], {"image": "img:1", "base": "base:1"}),
        (["engines", "up"], {"names": []}),  # all of them
        (["engines", "down", "podman"], {"names": ["podman"]}),
        (["engines", "list", "--json"], {"json": True}),
        (["inspect", "img:1", "--database", "postgres"],
         {"image": "img:1", "database": "postgres"}),
    ],
)  # fmt: skip
def test_every_subcommand_parses(argv: list[str], expected: dict[str, object]) -> None:
    """Each subcommand's arguments land where its handler reads them."""
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
    for name, value in expected.items():
        assert getattr(args, name) == value, name


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--storage", "nfs"], "--storage nfs is not in the persistence matrix; choose from "
                               "layer, anonymous, named, bind, tmpfs."),
        (["--storage", "external"], "--storage external is not in the persistence matrix (it "
                                    "is with --compose)"),
        (["--compose", "--action", "recreate"], "--action recreate is not in the compose matrix "
                                                "(it is without --compose)"),
        (["--compose", "--storage", "volume"], "--storage volume is not in the compose matrix; "
                                               "choose from layer, anonymous, anonymous-declared"),
        (["--compose", "--durability"], "--compose does not apply to --durability"),
    ],
)  # fmt: skip
def test_a_storage_mode_or_action_the_matrix_lacks_is_refused_before_any_engine(
    argv: list[str], says: str
) -> None:
    """One sentence naming the matrix's own choices (and the other matrix, where it has it)."""
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": ""}
    result = _harness("run", *argv, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--storage", "layer"], "--durability runs on named and bind storage"),
        (["--storage", "named", "--storage", "tmpfs"], "drop --storage tmpfs"),
        (["--action", "restart"], "--action does not apply to --durability"),
        (["--html", "x.html"], "--html does not apply to --durability"),
    ],
)
def test_durability_refuses_matrix_options_before_looking_for_an_engine(
    extra: list[str], says: str
) -> None:
    """The engine is nowhere, so only a check before connecting can give this sentence."""
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": ""}
    result = _harness("run", "--durability", *extra, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_durability_rounds_must_be_at_least_one() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["run", "--durability", "--rounds", "0"])
    assert exit_info.value.code == 2
    args = build_parser().parse_args(["run", "--durability", "--rounds", "3", "--seed", "9"])
    assert (args.durability, args.rounds, args.seed) == (True, 3, 9)


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [
        ("/work/harness/__main__.py", "python -m harness"),  # python -m harness
        ("/venv/bin/harness", "harness"),  # the installed command
        ("", "python -m harness"),
    ],
)
def test_usage_names_the_command_as_it_was_called(argv0: str, prog: str) -> None:
    assert program_name(argv0) == prog


def test_run_help_names_every_matrix_s_storages_actions_and_engines() -> None:
    """`run --help` lists the swarm's names too, and every engine `engines up` brings up."""
    shown = _harness("run", "--help", env={"PATH": ""})
    assert shown.returncode == 0, shown.stderr
    # argparse wraps at hyphens: join the lines back into one text.
    text = " ".join(shown.stdout.split()).replace("- ", "-")
    for axes in MATRICES.values():
        for name in (*axes.storages, *axes.actions):
            assert name in text, name
    assert "with --swarm: update-force" in text
    assert "podman" in text
