"""A student's `docker run` line becomes the matrix's ContainerSpec, or one refusal sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.grading.run_line import Refused, parse_run_line
from harness.model.spec import Mount, MountKind, image_name


def test_the_notes_command_with_a_named_volume(tmp_path: Path) -> None:
    """The notes' MySQL run, continued over lines with a comment, parses flag by flag."""
    line = """# my database
docker run -d --name mysql \\
  -e MYSQL_ROOT_PASSWORD=my-secret-pw -e MYSQL_DATABASE=employees \\
  -v db:/var/lib/mysql -p 3306:3306 --restart unless-stopped \\
  mysql:8.4 --character-set-server=utf8mb4
"""
    parsed = parse_run_line(line, tmp_path)
    spec = parsed.spec
    assert spec.image == "mysql:8.4"
    assert spec.name == "mysql"
    assert dict(spec.env) == {"MYSQL_ROOT_PASSWORD": "my-secret-pw", "MYSQL_DATABASE": "employees"}
    assert spec.mounts == (Mount(MountKind.VOLUME, "db", "/var/lib/mysql"),)
    assert spec.ports == (3306,)
    assert spec.command == ("--character-set-server=utf8mb4",)
    assert (parsed.restart, parsed.detached) == ("unless-stopped", True)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("--env=A=1 --name=db", {"env": {"A": "1"}, "name": "db"}),
        ("-eA=1", {"env": {"A": "1"}}),
        ("--volume=data:/d:ro", {"mounts": (Mount(MountKind.VOLUME, "data", "/d", True),)}),
        ("-v /var/lib/mysql", {"mounts": (Mount(MountKind.VOLUME, "", "/var/lib/mysql"),)}),
        ("--mount type=volume,source=v,target=/d",
         {"mounts": (Mount(MountKind.VOLUME, "v", "/d"),)}),
        ("--mount type=tmpfs,destination=/d", {"tmpfs": ("/d",)}),
        ("--tmpfs /var/lib/mysql:rw,size=64m", {"tmpfs": ("/var/lib/mysql",)}),
        ("--volumes-from old", {"volumes_from": ("old",)}),
        ("-p 127.0.0.1:8080:5432/tcp", {"ports": (5432,)}),
    ],
)  # fmt: skip
def test_short_long_and_equals_forms(
    flags: str, expected: dict[str, object], tmp_path: Path
) -> None:
    """Each supported flag in its short or long form, with a space or `=`."""
    spec = parse_run_line(f"docker container run {flags} postgres", tmp_path).spec
    for name, value in expected.items():
        actual = getattr(spec, name)
        assert (dict(actual) if name == "env" else actual) == value, name


def test_relative_bind_resolves_inside_the_submission(tmp_path: Path) -> None:
    """`-v ./data:/var/lib/mysql` is a bind of the submission's own directory."""
    spec = parse_run_line("docker run -v ./data:/var/lib/mysql mysql", tmp_path).spec
    assert spec.mounts == (Mount(MountKind.BIND, str(tmp_path / "data"), "/var/lib/mysql"),)


def test_env_file_is_read_from_the_submission(tmp_path: Path) -> None:
    """--env-file reads KEY=VALUE lines, skipping comments."""
    (tmp_path / "db.env").write_text("# secrets\nPOSTGRES_PASSWORD=pw\n\nPOSTGRES_DB=employees\n")
    spec = parse_run_line("docker run --env-file db.env postgres:17", tmp_path).spec
    assert dict(spec.env) == {"POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "employees"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("docker run --privileged mysql", "--privileged is not allowed"),
        ("docker run -v /var/run/docker.sock:/var/run/docker.sock mysql", "Docker socket"),
        ("docker run --mount type=bind,src=/,dst=/host mysql", "outside the submission"),
        ("docker run -v ../other-student:/data mysql", "outside the submission"),
        ("docker run --network host mysql", "--network host is not allowed"),
        ("docker run --pid=host mysql", "--pid host is not allowed"),
        ("docker run --ipc host mysql", "--ipc host is not allowed"),
        ("docker run --cap-add SYS_ADMIN mysql", "--cap-add is not allowed"),
        ("docker run --device /dev/sda mysql", "--device is not allowed"),
        ("docker run --security-opt seccomp=unconfined mysql", "--security-opt is not allowed"),
        ("docker run --gpus all mysql", "the flag --gpus is not supported"),
        ("docker run -d --name db", "names no image"),
        ("docker run --name", "--name needs a value"),
        ("docker pull mysql", "must hold one `docker run"),
        ("docker run -e 'A=1 mysql", "cannot be read"),
        ("docker run --env-file missing.env mysql", "is not a file in the submission"),
    ],
)
def test_refusals_name_what_is_wrong(line: str, reason: str, tmp_path: Path) -> None:
    """What a grader must not run, or cannot read, is one sentence naming it."""
    with pytest.raises(Refused, match=None) as refused:
        parse_run_line(line, tmp_path)
    assert reason in str(refused.value)


def test_a_network_of_its_own_is_accepted(tmp_path: Path) -> None:
    """Only the host's namespaces are refused, not a user-defined network."""
    assert parse_run_line("docker run --network labnet mysql", tmp_path).spec.image == "mysql"


@pytest.mark.parametrize(
    ("ref", "name"),
    [("mysql:8.4", "mysql"), ("docker.io/library/postgres:17", "postgres"), ("mariadb", "mariadb")],
)
def test_image_name_drops_registry_and_tag(ref: str, name: str) -> None:
    """Image names map to the configured source by their last path part, without the tag."""
    assert image_name(ref) == name
