"""Grading against the real engine: the example lab's exact scores and messages, every report
format, `pytest -m grading`, bounds on what a submission runs, isolation, and Ctrl-C."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine, Session
from harness.grading import dockerfile
from harness.grading.grader import grade_lab
from harness.grading.lab import load_lab
from harness.grading.results import LabResult, Status
from harness.grading.stand_ins import StandIns
from harness.grading.submission import discover
from harness.model.servers.stand_in_table import stand_in_for
from harness.model.spec import ContainerSpec, Mount, MountKind

pytestmark = pytest.mark.grading

LAB = Path(__file__).parents[2] / "scenarios" / "labs" / "volumes-101"
SAMPLES = LAB / "samples"
SCORES = {
    "ana-full-marks": 12,
    "ben-no-volume": 8,
    "cho-wrong-path": 7,
    "dev-tmpfs": 7,
    "eli-three-layers": 8,
    "fay-hostile": 0,
    "gus-bind": 11,
    "hal-postgres": 12,
    "ida-mariadb-names": 12,  # MARIADB_* variables, as the mariadb image documents
    "jon-postgres-18-old-mount": 7,  # PostgreSQL 18 refuses a mount at .../data: 0 for survival
    "kim-postgres-17-new-mount": 8,  # 18's mount on 17: the nested VOLUME loses it on recreate
    "lea-mysql-removed-option": 7,  # MySQL 9.7 refuses --mysql-native-password: 0 for survival
}
ANONYMOUS = (
    "After recreate (docker stop; docker rm; docker run) the Persons rows were lost (0 of 6 rows "
    "read back; table missing): the data directory /var/lib/mysql was on an anonymous volume "
    "(the image's VOLUME), which a new container does not get."
)
TMPFS = (
    "the Persons rows were lost (0 of 6 rows read back; table missing): the data directory "
    "/var/lib/mysql was on a tmpfs, which lives in memory."
)
# The progress bar's total: every check of the lab (seven) for every sample.
CHECKS = len(SCORES) * 7
NO_DOCKERFILE = "There is no Dockerfile in the submission."
NO_ANSWERS = "There is no answers.yaml in the submission."
REFUSED = "run.txt refused: --privileged is not allowed in a submission."


PG18_REFUSED = (
    "the server refused to start: ERROR: in 18+, this image keeps its data in "
    "/var/lib/postgresql/18/docker (a major-version directory under the VOLUME "
    "/var/lib/postgresql), but there appears to be PostgreSQL data in: /var/lib/postgresql/data "
    "(unused mount/volume); fix: mount the volume at /var/lib/postgresql (PostgreSQL 18's images "
    "keep the data in /var/lib/postgresql/18/docker), and move data an older major wrote with "
    "pg_upgrade or a dump and restore"
)
MYSQL_REFUSED = (
    "the server refused to start: [ERROR] [MY-000067] [Server] unknown variable "
    "'mysql-native-password=ON'; fix: remove or correct the option the server names (MySQL 8.4 "
    "removed default-authentication-plugin and 9.0 mysql-native-password: the default, "
    "caching_sha2_password, is what clients speak now)"
)
NESTED = (
    "After recreate (docker stop; docker rm; docker run) the Persons rows were lost (0 of 6 rows "
    "read back; table missing): the data directory /var/lib/postgresql/data was on an anonymous "
    "volume (the image's VOLUME), which a new container does not get. Your volume pgdata at "
    "/var/lib/postgresql sits above the image's VOLUME /var/lib/postgresql/data, which gets an "
    "anonymous volume of its own inside it; mount at /var/lib/postgresql/data instead."
)
RECREATE = "recreate (docker stop; docker rm; docker run)"


def expected_failures(images: dict[str, str]) -> dict[tuple[str, str], str]:
    """Every failed (or refused) check of the samples, with its exact message."""
    mysql, pg17, pg18 = images["mysql"], images["postgres-17"], images["postgres-18"]
    mysql_8 = stand_in_for("mysql:8.0")
    assert mysql_8 is not None
    return {
        ("jon-postgres-18-old-mount", "data-survives-recreate"): (
            f"Before {RECREATE}: {PG18_REFUSED} (postgres:18 ran as {pg18})."
        ),
        ("jon-postgres-18-old-mount", "data-survives-restart"): (
            f"Before restart (docker restart): {PG18_REFUSED} (postgres:18 ran as {pg18})."
        ),
        ("kim-postgres-17-new-mount", "data-survives-recreate"): (
            f"{NESTED} (postgres:17 ran as {pg17})"
        ),
        ("lea-mysql-removed-option", "data-survives-recreate"): (
            f"Before {RECREATE}: {MYSQL_REFUSED} (mysql:9.7 ran as {mysql})."
        ),
        ("lea-mysql-removed-option", "data-survives-restart"): (
            f"Before restart (docker restart): {MYSQL_REFUSED} (mysql:9.7 ran as {mysql})."
        ),
        ("ben-no-volume", "data-survives-recreate"): f"{ANONYMOUS} (mysql ran as {mysql})",
        ("cho-wrong-path", "data-survives-recreate"): (
            f"{ANONYMOUS} Your volume db at /var/lib/mysql-data does not hold /var/lib/mysql. "
            f"(mysql:8.0 ran as {mysql}; {mysql_8.other_major()})"
        ),
        ("cho-wrong-path", "exp4-layers"): "exp4_layers: 2 is not the expected answer.",
        ("dev-tmpfs", "data-survives-recreate"): (
            f"After recreate (docker stop; docker rm; docker run) {TMPFS} (mysql ran as {mysql})"
        ),
        ("dev-tmpfs", "data-survives-restart"): (
            f"After restart (docker restart) {TMPFS} (mysql ran as {mysql})"
        ),
        ("eli-three-layers", "chained-run"): (
            'The Dockerfile adds 3 layers over its base, more than 1: RUN echo "one" > /1.txt; '
            'RUN echo "two" > /2.txt; RUN echo "three" > /3.txt.'
        ),
        ("eli-three-layers", "volume-declared"): (
            "The Dockerfile declares no volume covering /var/lib/mysql (declared: none); add "
            "`VOLUME /var/lib/mysql` to the Dockerfile."
        ),
        ("fay-hostile", "data-survives-recreate"): REFUSED,
        ("fay-hostile", "data-survives-restart"): REFUSED,
        ("fay-hostile", "builds"): NO_DOCKERFILE,
        ("fay-hostile", "chained-run"): NO_DOCKERFILE,
        ("fay-hostile", "volume-declared"): NO_DOCKERFILE,
        ("fay-hostile", "exp3-layers"): NO_ANSWERS,
        ("fay-hostile", "exp4-layers"): NO_ANSWERS,
        ("gus-bind", "exp3-layers"): "exp3_layers: 'three' is not the expected answer.",
    }


def _harness_env() -> dict[str, str]:
    return {**os.environ, "HARNESS_IMAGES": "local"}


@dataclass(frozen=True)
class Graded:
    process: subprocess.CompletedProcess[str]
    pid: int
    out: Path
    report: dict[str, object]

    def checks(self) -> dict[tuple[str, str], dict[str, object]]:
        submissions = self.report["submissions"]
        assert isinstance(submissions, list)
        return {(s["student"], c["id"]): c for s in submissions for c in s["checks"]}


@pytest.fixture(scope="module")
def graded_samples(
    run_once: Callable[[str, Callable[[Path], dict[str, Any]]], tuple[Path, dict[str, Any]]],
    local_images: dict[str, str],
    contract: Callable[[str, Any], None],
) -> Graded:
    """`python -m harness grade` over the example lab's samples, writing every format (the
    grading JSON valid against its schema); once per run, whichever worker asks first."""

    def grade(folder: Path) -> dict[str, Any]:
        out = folder / "out"
        command = [
            sys.executable, "-m", "harness", "grade", str(LAB), str(SAMPLES),
            "--jobs", "2", "--fail-under", "6",
            "--json", str(out / "grades.json"), "--junit", str(out / "junit.xml"),
            "--feedback", str(out / "feedback"), "--gradebook", str(out / "gradebook.csv"),
            "--gradescope", str(out / "gradescope"),
        ]  # fmt: skip
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_harness_env()
        ) as running:
            stdout, stderr = running.communicate(timeout=900)
        return {"code": running.returncode, "stdout": stdout, "stderr": stderr, "pid": running.pid}

    folder, ran = run_once("graded-samples", grade)
    out = folder / "out"
    process = subprocess.CompletedProcess(["grade"], ran["code"], ran["stdout"], ran["stderr"])
    assert (out / "grades.json").exists(), process.stderr
    grades = json.loads((out / "grades.json").read_text())
    contract("grades", grades)
    return Graded(process, ran["pid"], out, grades)


def test_a_class_split_in_three_and_merged_gets_the_unsplit_scores_gradebook_and_gradescope(
    tmp_path: Path, graded_samples: Graded
) -> None:
    shards = [tmp_path / f"grades-{k}.json" for k in (1, 2, 3)]
    for k, path in enumerate(shards, start=1):
        ran = _grade_cli("grade", str(LAB), str(SAMPLES), "--jobs", "2", "--shard", f"{k}/3",
                       "--json", str(path))  # fmt: skip
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert "(shard " + f"{k}/3: {len(SCORES) // 3} of {len(SCORES)})" in ran.stdout
    out = tmp_path / "merged"
    ran = _grade_cli("merge", *map(str, shards), "--json", str(out / "grades.json"),
                   "--gradebook", str(out / "gradebook.csv"), "--gradescope", str(out / "gs"),
                   "--fail-under", "6")  # fmt: skip
    assert ran.returncode == 1  # as the unsplit run: some samples score below 6
    unsplit = graded_samples.out
    merged = json.loads((out / "grades.json").read_text())
    assert [(s["student"], s["score"]) for s in merged["submissions"]] == [
        (s["student"], s["score"])
        for s in graded_samples.report["submissions"]  # type: ignore[union-attr]
    ]
    assert _rows(out / "gradebook.csv") == _rows(unsplit / "gradebook.csv")
    for student in (p.name for p in SAMPLES.iterdir()):
        mine = json.loads((out / "gs" / student / "results.json").read_text())
        theirs = json.loads((unsplit / "gradescope" / student / "results.json").read_text())
        assert mine == theirs, student


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def _grade_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True, text=True, timeout=900, check=False, env=_harness_env(),
    )  # fmt: skip


def test_each_sample_gets_its_exact_score(graded_samples: Graded) -> None:
    submissions = graded_samples.report["submissions"]
    assert isinstance(submissions, list)
    assert {s["student"]: s["score"] for s in submissions} == SCORES
    assert graded_samples.report["lab"] == "Volumes 101"
    assert graded_samples.report["max_score"] == 12


def test_each_failed_check_says_why_in_exact_words(
    graded_samples: Graded, local_images: dict[str, str], local_versions: dict[str, str]
) -> None:
    failed = {
        key: check["message"]
        for key, check in graded_samples.checks().items()
        if check["status"] != "passed"
    }
    assert failed == expected_failures({**local_versions, **local_images})
    statuses = {key: c["status"] for key, c in graded_samples.checks().items()}
    assert statuses["fay-hostile", "data-survives-recreate"] == "refused"
    assert statuses["fay-hostile", "builds"] == "failed"


def test_the_terminal_shows_tables_a_class_summary_and_exit_1_below_fail_under(
    graded_samples: Graded,
) -> None:
    process = graded_samples.process
    assert process.returncode == 1
    assert process.stderr.splitlines()[-1] == (
        "harness: fay-hostile scored 0, below --fail-under 6"
    )
    assert "== ana-full-marks: 12/12 ==" in process.stdout
    assert f"== Volumes 101: class summary ({len(SCORES)} submission(s)) ==" in process.stdout
    assert f"mean {sum(SCORES.values()) / len(SCORES):.2f} / 12, median 8" in process.stdout
    # Kept by ana, eli, gus, hal and ida: 5 of the 12.
    assert "data-survives-recreate   42% passed" in process.stdout
    assert f"[########################] {CHECKS}/{CHECKS}" in process.stderr  # the progress bar


def test_every_report_format_is_written(graded_samples: Graded) -> None:
    out = graded_samples.out
    rows = list(csv.DictReader((out / "gradebook.csv").read_text().splitlines()))
    assert {row["student"]: float(row["total"]) for row in rows} == SCORES
    assert rows[0]["data-survives-recreate"] == "4"
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")  # noqa: S314 - ours
    assert [s.get("name") for s in suites] == list(SCORES)
    eli = next(s for s in suites if s.get("name") == "eli-three-layers")
    assert (eli.get("tests"), eli.get("failures")) == ("7", "2")
    for student, score in SCORES.items():
        results = json.loads((out / "gradescope" / student / "results.json").read_text())
        assert results["score"] == score
        assert sum(test["score"] for test in results["tests"]) == score
        feedback = (out / "feedback" / f"{student}.md").read_text()
        assert f"Score: **{score} / 12**" in feedback
    assert (
        "Hint: A named volume outlives its container"
        in (out / "feedback" / "ben-no-volume.md").read_text()
    )


def test_grading_leaves_nothing_labelled(graded_samples: Graded, harness_engine: Engine) -> None:
    """The CLI ran in its own process: nothing carrying its owner label may remain."""
    assert graded_samples.process.returncode == 1
    assert _owned_by(harness_engine, graded_samples.pid) == []


def _owned_by(engine: Engine, pid: int) -> list[str]:
    """What carries the owner label of the process `pid`: containers, volumes, networks, images."""
    client = engine.client
    filters: dict[str, str | list[str] | bool] = {
        "label": [f"{OWNER_LABEL}={socket.gethostname()}:{pid}"]
    }
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
    found += [f"image {i.tags}" for i in client.images.list(filters=filters)]
    return found


def test_pytest_grading_runs_one_test_per_student_and_check(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    process = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "grading",
            str(Path(__file__).parents[2] / "scenarios" / "test_grading.py"),
            "--lab", str(LAB), "--submission", str(SAMPLES / "ana-full-marks"),
            "--submission", str(SAMPLES / "eli-three-layers"), f"--junitxml={junit}", "-q",
        ],
        capture_output=True, text=True, env=_harness_env(), check=False, timeout=600,
    )  # fmt: skip
    assert process.returncode == 1, process.stdout[-2000:]
    cases = {
        case.get("name"): case
        for case in ET.parse(junit).getroot().iter("testcase")  # noqa: S314 - written by pytest
    }
    assert len(cases) == 14
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {
        "test_lab_check[eli-three-layers-chained-run]",
        "test_lab_check[eli-three-layers-volume-declared]",
    }
    points = {
        prop.get("name"): prop.get("value")
        for prop in cases["test_lab_check[ana-full-marks-data-survives-recreate]"].iter("property")
    }
    assert points == {"points": "4.0", "max_points": "4.0"}


# Bounds and isolation, graded in this process


def _write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)
    return folder


def _grade(
    engine: Engine, images: dict[str, str], lab_text: str, root: Path, jobs: int = 1
) -> LabResult:
    (root / "lab.yaml").write_text(lab_text)
    lab = load_lab(root / "lab.yaml")
    return grade_lab(lab, discover([root / "class"]), engine, StandIns(images), jobs=jobs)


BOUNDS_LAB = """
title: Bounds
checks:
  - {id: builds, points: 1, kind: builds}
  - {id: restart, points: 1, kind: persists, actions: [restart]}
"""


def test_a_build_that_never_ends_a_flood_and_a_server_that_never_answers_are_bounded(
    tmp_path: Path,
    harness_engine: Engine,
    local_images: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Long enough for the flood to end on a loaded machine, short enough for a test.
    monkeypatch.setattr(dockerfile, "BUILD_TIMEOUT_SECONDS", 30.0)
    run_ok = "docker run -e MYSQL_ROOT_PASSWORD=pw -v db:/var/lib/mysql mysql\n"
    _write(tmp_path / "class" / "hang", Dockerfile="FROM mysql\nRUN sleep 600\n", run_txt=run_ok)
    _write(
        tmp_path / "class" / "flood",
        Dockerfile="FROM mysql\nRUN yes flood-line | head -n 500000; exit 3\n",
        run_txt="docker run -e MYSQL_ROOT_PASSWORD=pw mysql --no-such-option\n",
    )
    result = _grade(harness_engine, local_images, BOUNDS_LAB, tmp_path)
    hang, flood = (
        {c.id: c for c in s.checks}
        for s in sorted(result.submissions, key=lambda s: s.student != "hang")
    )
    assert hang["builds"].status is Status.ERROR
    assert hang["builds"].message.startswith("The build did not finish within 30 s and was stopped")
    assert hang["restart"].status is Status.PASSED  # the others still graded
    assert flood["builds"].status is Status.FAILED
    assert "returned a non-zero code: 3" in flood["builds"].message
    assert len(flood["builds"].message) < 3000  # only the last lines are kept
    # MySQL refuses an option it does not know: the student's configuration, 0 points, its words.
    assert flood["restart"].status is Status.FAILED
    assert "the server refused to start: [ERROR]" in flood["restart"].message
    assert "unknown option '--no-such-option'" in flood["restart"].message
    assert "pw" not in flood["restart"].message.replace("pwd", "")
    # The low-level listing: the SDK's `containers.list` inspects each container, and another
    # test's, removed in between, raised NotFound here once.
    sleeping = [
        c["Names"]
        for c in harness_engine.client.api.containers(all=True)
        if "sleep 600" in (c.get("Command") or "")
    ]
    assert sleeping == []  # the stopped build's step container is gone


ISOLATION_LAB = """
title: Isolation
checks:
  - {id: keeps, points: 1, kind: persists, actions: [recreate]}
  - {id: loses, points: 1, kind: loses, actions: [recreate]}
"""


@pytest.fixture
def bystander_volume(harness_engine: Engine, harness_test_session: Session) -> Iterator[str]:
    """A volume already on the engine, named as the students name theirs."""
    name = f"harness-bystander-{harness_test_session.id}"
    harness_engine.create_volume(name, harness_test_session.labels)
    yield name
    harness_engine.remove_volume(name)


def test_submissions_get_their_own_volumes_and_loses_checks_pass_only_on_loss(
    tmp_path: Path,
    harness_engine: Engine,
    harness_test_session: Session,
    local_images: dict[str, str],
    bystander_volume: str,
) -> None:
    """Two students name the same volume as one already on the engine, graded at once: each
    keeps its own rows, and the engine's volume is never touched."""
    same = f"docker run -e MYSQL_ROOT_PASSWORD=pw -v {bystander_volume}:/var/lib/mysql mysql\n"
    _write(tmp_path / "class" / "one", run_txt=same)
    _write(tmp_path / "class" / "two", run_txt=same)
    _write(tmp_path / "class" / "none", run_txt="docker run -e MYSQL_ROOT_PASSWORD=pw mysql\n")
    result = _grade(harness_engine, local_images, ISOLATION_LAB, tmp_path, jobs=2)
    statuses = {(s.student, c.id): c.status for s in result.submissions for c in s.checks}
    assert statuses == {
        ("none", "keeps"): Status.FAILED,
        ("none", "loses"): Status.PASSED,
        ("one", "keeps"): Status.PASSED,
        ("one", "loses"): Status.FAILED,
        ("two", "keeps"): Status.PASSED,
        ("two", "loses"): Status.FAILED,
    }
    one_loses = next(c for c in result.submissions[1].checks if c.id == "loses")
    assert "were still there (6 of 6 rows read back), but this check wants them lost" in (
        one_loses.message
    )
    listing = ContainerSpec(
        image=local_images["mysql"],
        labels=harness_test_session.labels,
        mounts=(Mount(MountKind.VOLUME, bystander_volume, "/v"),),
    )
    code, output = harness_engine.run_helper(listing, entrypoint=["ls", "-A", "/v"], user="0")
    assert (code, output) == (0, "")


def test_ctrl_c_while_grading_in_parallel_leaves_nothing_labelled(harness_engine: Engine) -> None:
    # Ctrl-C at a terminal reaches a foreground command. A suite started in the background
    # (`make test &`) passes SIGINT on ignored, and Python then keeps ignoring it: the grading
    # ran to its end in such a run. The child gets the terminal's default back.
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "grade", str(LAB), str(SAMPLES), "--jobs", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_harness_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )  # fmt: skip
    assert process.stderr is not None
    timer = threading.Timer(300, process.kill)
    timer.start()
    # Interrupt on a sign of progress, not after a delay: at the first finished check (a line
    # of the progress bar) the other job is mid-check, and this one starts its next, however
    # fast or slow the machine is. (Waiting to see one of the run's containers running instead
    # failed twice in whole-suite runs: for 90 s of grading the engine's container list never
    # showed one in time, and grading finished without its Ctrl-C.)
    stderr: list[str] = []
    progressed = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            stderr.append(line)
            if f"/{CHECKS} " in line:
                progressed.set()

    reader = threading.Thread(target=read)
    reader.start()
    if progressed.wait(timeout=300):
        process.send_signal(signal.SIGINT)
    process.wait()
    reader.join()
    process.stderr.close()
    timer.cancel()
    output = "".join(stderr)
    assert any(f"/{CHECKS} " in line for line in stderr), f"grading showed no progress: {output}"
    assert process.returncode == 130, output
    assert _owned_by(harness_engine, process.pid) == []


def _labelled_image(engine: Engine, owner_pid: int, folder: Path) -> str:
    """An image labelled as grading labels what it builds. Imported from a one-file tar, so no
    container (which would carry the labels too) ever exists for other tests to see."""
    tag = str(owner_pid)
    archive = folder / f"{tag}.tar"
    with tarfile.open(archive, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("empty"), io.BytesIO(b""))
    owner = f"{socket.gethostname()}:{owner_pid}"
    changes = [f"LABEL {SESSION_LABEL}=c1ea {OWNER_LABEL}={owner}", 'CMD ["/empty"]']
    with archive.open("rb") as stream:
        engine.import_image(stream, "harness-grading/clean-test", tag, changes)
    return f"harness-grading/clean-test:{tag}"


def test_clean_removes_the_images_a_dead_grading_run_built_and_spares_live_ones(
    tmp_path: Path, harness_engine: Engine
) -> None:
    """A grading run killed with SIGKILL leaves its submission's image behind, labelled."""
    ended = subprocess.Popen(["true"])  # its pid belongs to no process once waited
    ended.wait()
    dead = _labelled_image(harness_engine, ended.pid, tmp_path)
    live = _labelled_image(harness_engine, os.getpid(), tmp_path)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "harness", "clean"], capture_output=True, text=True, check=False
        )
        assert process.returncode == 0, process.stderr
        assert not harness_engine.has_image(dead)
        assert harness_engine.has_image(live)
    finally:
        harness_engine.remove_image(live, force=True)
