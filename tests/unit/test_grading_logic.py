"""Grading's pure logic: stand-in images, submissions, the run line made ready, messages, sums."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.containers.run_state import RunState
from harness.errors import UsageError
from harness.frontends.cli.grade import exit_code, print_submission
from harness.grading import submission as submission_module
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult
from harness.grading.run_line import Refused, parse_run_line
from harness.grading.stand_ins import StandIns
from harness.grading.submission import Submission, SubmissionTooLarge, discover, scratch_copy
from harness.grading.survival import (
    GradedContainer,
    Ungradable,
    _for_trial,
    _misplaced,
    _where,
    prepare,
)
from harness.model.holders import ObservedMount
from harness.model.spec import Mount, MountKind

STAND_INS = StandIns(
    {"mysql": "local/mysql:1", "mariadb": "local/mariadb:1", "postgres": "local/postgres:1"}
)
SAMPLES = Path(__file__).parents[2] / "scenarios" / "labs" / "volumes-101" / "samples"


@pytest.mark.parametrize(
    ("typed", "database", "ref"),
    [
        ("mysql", "mysql", "local/mysql:1"),
        ("mysql:8.0", "mysql", "local/mysql:1"),
        ("mariadb:11", "mariadb", "local/mariadb:1"),
        ("docker.io/library/postgres:16", "postgres", "local/postgres:1"),
    ],
)
def test_database_image_names_map_to_the_stand_ins(typed: str, database: str, ref: str) -> None:
    stand_in = STAND_INS.for_image(typed)
    assert stand_in is not None
    assert (stand_in.database, stand_in.ref, stand_in.describe()) == (
        database,
        ref,
        f"{typed} ran as {ref}",
    )


def test_other_images_have_no_stand_in() -> None:
    assert STAND_INS.for_image("nginx:latest") is None
    assert StandIns({"mysql": "m"}).for_image("postgres") is None


def test_dockerfile_from_lines_point_at_the_stand_ins_and_nothing_else_changes() -> None:
    text = (
        "FROM --platform=linux/amd64 mariadb:11 AS db\n"
        "RUN echo FROM mysql\n"
        "from postgres\n"
        "FROM alpine:3.19\n"
    )
    rewritten, made = STAND_INS.rewrite_dockerfile(text)
    assert rewritten == (
        "FROM --platform=linux/amd64 local/mariadb:1 AS db\n"
        "RUN echo FROM mysql\n"
        "from local/postgres:1\n"
        "FROM alpine:3.19\n"
    )
    assert [s.typed for s in made] == ["mariadb:11", "postgres"]


# Submissions


def _student(root: Path, name: str, *files: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_text("x\n")
    return folder


def test_a_students_folder_is_one_submission_and_a_class_folder_is_many(tmp_path: Path) -> None:
    ana = _student(tmp_path / "class", "ana", "run.txt")
    _student(tmp_path / "class", "ben", "answers.yaml")
    (tmp_path / "class" / ".git").mkdir()
    assert discover([ana]) == [Submission("ana", ana)]
    assert [s.student for s in discover([tmp_path / "class"])] == ["ana", "ben"]


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("missing", "nowhere is not a folder"),
        ("a file", "run.txt is not a folder"),
        ("empty", "holds no submission"),
        ("duplicate", "two submissions are named ana"),
    ],
)
def test_submission_arguments_that_are_no_submission_are_usage_errors(
    tmp_path: Path, case: str, says: str
) -> None:
    """Each bad argument gets its own one-line sentence naming what is wrong."""
    make = {
        "missing": lambda: [tmp_path / "nowhere"],
        "a file": lambda: [_student(tmp_path, "ana", "run.txt") / "run.txt"],
        "empty": lambda: [tmp_path],
        "duplicate": lambda: [
            _student(tmp_path / "a", "ana", "run.txt"),
            _student(tmp_path / "b", "ana", "run.txt"),
        ],
    }
    paths = make[case]()
    with pytest.raises(UsageError) as error:
        discover(paths)
    message = str(error.value)
    assert says in message
    assert message.endswith(".")
    assert "\n" not in message


def test_the_scratch_copy_is_private_and_removed_after(tmp_path: Path) -> None:
    ana = _student(tmp_path, "ana", "run.txt")
    run = RunState(tmp_path / "state" / "run1")
    with scratch_copy(Submission("ana", ana), run) as copy:
        (copy / "data").mkdir()
        assert (copy / "run.txt").read_text() == "x\n"
        # Under the run's own directory, where a cleaner finds it if this run is killed.
        assert copy.is_relative_to(run.directory / "scratch")
    assert not copy.exists()
    assert sorted(p.name for p in ana.iterdir()) == ["run.txt"]


def test_a_submission_too_large_is_refused_before_copying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = _student(tmp_path, "ana", "run.txt")
    (ana / "dump.sql").write_bytes(b"0" * 2000)
    monkeypatch.setattr(submission_module, "MAX_SUBMISSION_BYTES", 1000)
    copies: list[object] = []
    monkeypatch.setattr(submission_module.shutil, "copytree", lambda *a, **k: copies.append(a))
    run = RunState(tmp_path / "state")
    with pytest.raises(SubmissionTooLarge), scratch_copy(Submission("ana", ana), run):
        pass
    assert copies == []  # nothing was copied
    assert not (run.directory / "scratch").exists()  # not even a scratch directory made


# The run line made ready for the engine


def _prepared(line: str, root: Path) -> GradedContainer:
    return prepare(parse_run_line(line, root), STAND_INS, root)


def test_the_employees_database_is_added_when_the_student_names_none(tmp_path: Path) -> None:
    graded = _prepared(
        "docker run -d --name db -p 3306:3306 -e MYSQL_ROOT_PASSWORD=pw mysql", tmp_path
    )
    assert graded.spec.image == "local/mysql:1"
    assert dict(graded.spec.env) == {
        "MYSQL_ROOT_PASSWORD": "pw",
        "MYSQL_DATABASE": "employees",
    }
    assert (graded.spec.ports, graded.spec.name) == ((), None)
    assert (graded.creds.user, graded.creds.database) == ("root", "employees")


def test_a_mariadb_line_is_read_with_the_mariadb_images_own_variables(tmp_path: Path) -> None:
    graded = _prepared(
        "docker run -d --name db -e MARIADB_ROOT_PASSWORD=zed-pw -e MARIADB_DATABASE=employees "
        "-v zdata:/var/lib/mysql mariadb:11",
        tmp_path,
    )
    assert (graded.creds.user, graded.creds.password) == ("root", "zed-pw")
    assert graded.creds.database == "employees"
    assert dict(graded.spec.env) == {
        "MARIADB_ROOT_PASSWORD": "zed-pw",
        "MARIADB_DATABASE": "employees",
    }


def test_the_students_own_database_and_user_are_kept(tmp_path: Path) -> None:
    graded = _prepared(
        "docker run -e POSTGRES_PASSWORD=pw -e POSTGRES_USER=app -e POSTGRES_DB=shop postgres:16",
        tmp_path,
    )
    assert graded.profile.name == "postgres"
    assert (graded.creds.user, graded.creds.database) == ("app", "shop")


@pytest.mark.parametrize(
    ("line", "error", "names"),
    [
        ("docker run -d mysql", Ungradable, "sets no MYSQL_ROOT_PASSWORD,"),
        ("docker run -d mariadb", Ungradable, "MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD)"),
        # The mysql image knows no MARIADB_* variable: its server could not initialise.
        ("docker run -d -e MARIADB_ROOT_PASSWORD=pw mysql:8", Ungradable, "MYSQL_ROOT_PASSWORD"),
        ("docker run -d postgres", Ungradable, "POSTGRES_PASSWORD"),
        ("docker run -d -e A=1 nginx", Ungradable, "nginx"),
        (
            "docker run --volumes-from old -e MYSQL_ROOT_PASSWORD=pw mysql",
            Refused,
            "--volumes-from",
        ),
    ],
)
def test_lines_that_cannot_run_as_a_graded_database_say_why(
    tmp_path: Path, line: str, error: type[Exception], names: str
) -> None:
    with pytest.raises(error) as raised:
        _prepared(line, tmp_path)
    assert names in str(raised.value)


def test_each_trial_renames_named_volumes_and_moves_binds_into_its_scratch_copy(
    tmp_path: Path,
) -> None:
    submission = tmp_path / "ana"
    submission.mkdir()
    graded = _prepared(
        "docker run -e MYSQL_ROOT_PASSWORD=pw -v db:/var/lib/mysql -v ./conf:/etc/mysql/conf.d "
        "-v /logs mysql",
        submission,
    )
    scratch = tmp_path / "scratch"
    spec, volumes = _for_trial(graded, "s1-ana-check-recreate", scratch)
    assert volumes == {"harness-s1-ana-check-recreate-db": "db"}
    assert spec.mounts == (
        Mount(MountKind.VOLUME, "harness-s1-ana-check-recreate-db", "/var/lib/mysql"),
        Mount(MountKind.BIND, str(scratch / "conf"), "/etc/mysql/conf.d"),
        Mount(MountKind.VOLUME, "", "/logs"),
    )


def test_the_wrong_path_mistake_names_the_students_mount(tmp_path: Path) -> None:
    wrong = _prepared(
        "docker run -e MYSQL_ROOT_PASSWORD=pw -v db:/var/lib/mysql-data -v ./d:/var/lib/mysql/x "
        "--tmpfs /tmp mysql",
        tmp_path,
    )
    anonymous = ObservedMount("volume", "/var/lib/mysql", "4f1c0a")
    assert _misplaced(wrong, "/var/lib/mysql", anonymous) == (
        " Your volume db at /var/lib/mysql-data, bind ./d at /var/lib/mysql/x, tmpfs at /tmp "
        "does not hold /var/lib/mysql."
    )
    right = _prepared("docker run -e MYSQL_ROOT_PASSWORD=pw -v db:/var/lib/mysql mysql", tmp_path)
    own = ObservedMount("volume", "/var/lib/mysql", "db")
    assert _misplaced(right, "/var/lib/mysql", own) == ""


def test_a_mount_above_the_images_volume_is_named_as_the_nested_volume_trap(
    tmp_path: Path,
) -> None:
    """`-v db:/var/lib` covers /var/lib/mysql, but the image's VOLUME /var/lib/mysql gets an
    anonymous volume of its own inside it, which held the data: the feedback says so."""
    above = _prepared("docker run -e MYSQL_ROOT_PASSWORD=pw -v db:/var/lib mysql", tmp_path)
    anonymous = ObservedMount("volume", "/var/lib/mysql", "4f1c0a")
    assert _misplaced(above, "/var/lib/mysql", anonymous) == (
        " Your volume db at /var/lib sits above the image's VOLUME /var/lib/mysql, which gets an "
        "anonymous volume of its own inside it; mount at /var/lib/mysql instead."
    )
    assert _misplaced(above, "/var/lib/mysql", None) == ""  # the writable layer: nothing above


@pytest.mark.parametrize(
    ("mount", "where"),
    [
        (None, "in the container's writable layer (no volume covers it)"),
        (ObservedMount("tmpfs", "/d"), "on a tmpfs, which lives in memory"),
        (ObservedMount("bind", "/d", source="/srv/x"), "on a bind mount of a submission folder"),
        (ObservedMount("volume", "/d", name="harness-x-db"), "on the named volume db"),
        (
            ObservedMount("volume", "/d", name="3f2a"),
            "on an anonymous volume (the image's VOLUME), which a new container does not get",
        ),
    ],
)
def test_where_the_data_was_is_said_in_the_lessons_words(
    mount: ObservedMount | None, where: str
) -> None:
    assert _where(mount, {"harness-x-db": "db"}) == where


# Sums and the command's output


def _submission(student: str, *statuses: Status) -> SubmissionResult:
    checks = tuple(CheckResult(f"c{i}", 2, status, "m") for i, status in enumerate(statuses))
    return SubmissionResult(student, checks)


CLASS = LabResult(
    "Lab",
    6,
    (
        _submission("ana", Status.PASSED, Status.PASSED, Status.PASSED),
        _submission("ben", Status.PASSED, Status.FAILED, Status.REFUSED),
        _submission("cho", Status.ERROR, Status.FAILED, Status.PASSED),
    ),
)


def test_class_statistics_come_from_the_scores() -> None:
    assert [s.score for s in CLASS.submissions] == [6, 2, 2]
    assert CLASS.mean() == pytest.approx(10 / 3)
    assert CLASS.median() == 2
    assert CLASS.pass_rates() == {"c0": pytest.approx(2 / 3), "c1": 1 / 3, "c2": 2 / 3}


@pytest.mark.parametrize(("fail_under", "code"), [(None, 0), (2, 0), (2.5, 1), (6, 1)])
def test_fail_under_exits_1_only_when_a_score_is_below_it(
    fail_under: float | None, code: int
) -> None:
    assert exit_code(CLASS, fail_under) == code


def test_a_students_table_has_a_row_per_check_with_points_and_status() -> None:
    lines: list[str] = []
    print_submission(CLASS.submissions[1], lines.append)
    assert lines[0] == "\n== ben: 2/6 =="
    assert [line.split()[:3] for line in lines[2:]] == [
        ["c0", "2/2", "passed"],
        ["c1", "0/2", "failed"],
        ["c2", "0/2", "refused"],
    ]


# The command's usage errors come before any engine is needed


def _grade(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    return subprocess.run(
        [sys.executable, "-m", "harness", "grade", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_bad_lab_spec_exits_2_naming_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text("title: T\nchecks:\n  - {id: a, points: 0, kind: builds}\n")
    result = _grade(str(tmp_path), str(SAMPLES))
    assert result.returncode == 2
    assert result.stderr == (
        "harness: lab.yaml: checks[0].points: found 0; Input should be greater than 0.\n"
    )


def test_a_missing_submission_exits_2_in_one_sentence(tmp_path: Path) -> None:
    result = _grade(str(SAMPLES.parent), str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr == (
        f"harness: {tmp_path / 'nowhere'} is not a folder; pass a student's folder or a class's.\n"
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_pytest_grading_with_a_bad_lab_exits_2_in_one_sentence(workers: list[str]) -> None:
    """`pytest -m grading --lab` reads the lab before collection: no collection traceback."""
    scenario = SAMPLES.parents[2] / "test_grading.py"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "grading", str(scenario),
         "--lab", "/nonexistent", "--submission", str(SAMPLES), *workers],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "harness: /nonexistent: cannot be read (No such file or directory); pass the lab folder."
        in result.stdout + result.stderr
    )


def test_grading_without_an_engine_exits_2_in_one_sentence() -> None:
    """The lab and the submissions are fine; no engine answers."""
    result = _grade(str(SAMPLES.parent), str(SAMPLES))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "harness: No container engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock"
    )
    assert len(result.stderr.strip().splitlines()) == 1
