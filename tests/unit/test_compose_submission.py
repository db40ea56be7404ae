"""A compose lab submission's refusals and the lab's action vocabulary, without an engine."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from harness.grading.compose_submission import read_submission_file
from harness.grading.lab import BadLab, SurvivalCheck, load_lab
from harness.grading.results import Status
from harness.grading.run_line import Refused
from harness.grading.stand_ins import StandIn
from harness.grading.submission import Submission, discover
from harness.grading.survival import GradedContainer, grade_survival
from harness.grading.workspace import Workspace
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.spec import ContainerSpec

LABS = Path(__file__).parents[2] / "scenarios" / "labs"


def _submit(tmp_path: Path, file: dict[str, Any]) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(file))
    return path


def _db(**service: Any) -> dict[str, Any]:
    return {"services": {"db": {"image": "mysql:8.0", **service}}}


@pytest.mark.parametrize(
    ("file", "says"),
    [
        (_db(privileged=True), "service db: `privileged` is not allowed in a submission."),
        (_db(cap_add=["SYS_ADMIN"]), "service db: `cap_add` is not allowed"),
        (_db(devices=["/dev/sda"]), "service db: `devices` is not allowed"),
        (_db(security_opt=["seccomp:unconfined"]), "service db: `security_opt` is not allowed"),
        (_db(network_mode="host"), "service db: `network_mode` is not allowed"),
        (_db(pid="host"), "service db: `pid` (a host namespace) is not allowed"),
        (_db(ipc="host"), "service db: `ipc` (a host namespace) is not allowed"),
        (_db(volumes=["/var/run/docker.sock:/var/run/docker.sock"]), "mounts the Docker socket"),
        (_db(volumes=[{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]),
         "mounts the Docker socket"),
        (_db(volumes=["../../etc:/etc/host"]), "names ../../etc, which lies outside"),
        (_db(volumes=["/home:/data"]), "names /home, which lies outside the submission"),
        (_db(volumes=["~/db:/var/lib/mysql"]), "names ~/db, outside the submission"),
        (_db(env_file="../secrets.env"), "service db's env_file names ../secrets.env"),
        (_db(sysctls={"a": 1}), "service db: the key `sysctls` is not supported in a lab."),
        (_db(build="."), "`build` is not graded in a compose lab; use `image:`"),
        ({**_db(), "include": ["x.yaml"]}, "top-level key `include` is not supported"),
        ({**_db(), "volumes": {"d": {"driver_opts": {"device": "/home"}}}},
         "the volume `d` sets a driver"),
        ({**_db(), "secrets": {"pw": {"file": "/etc/shadow"}}},
         "the secret `pw` names /etc/shadow"),
        ({"version": "3"}, "has no `services:` mapping"),
    ],
)  # fmt: skip
def test_what_a_grader_never_runs_is_refused_by_name(
    tmp_path: Path, file: dict[str, Any], says: str
) -> None:
    with pytest.raises(Refused) as refused:
        read_submission_file(_submit(tmp_path, file))
    assert says in str(refused.value)


def test_every_service_is_read_not_only_the_database(tmp_path: Path) -> None:
    file = _db()
    file["services"]["app"] = {"image": "nginx", "privileged": True}
    with pytest.raises(Refused, match="service app: `privileged`"):
        read_submission_file(_submit(tmp_path, file))


def test_an_ordinary_compose_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "db.env").write_text("MYSQL_ROOT_PASSWORD=x\n")
    file = _db(env_file="db.env", volumes=["./data:/var/lib/mysql", "logs:/var/log"],
               ports=["3306:3306"], restart="always")  # fmt: skip
    file["volumes"] = {"logs": {}}
    assert read_submission_file(_submit(tmp_path, file))["services"]["db"]["restart"] == "always"


def test_bad_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  db:\n   image: [\n")
    with pytest.raises(Refused, match=r"compose.yaml line 4 is not valid YAML"):
        read_submission_file(path)


def test_a_folder_with_only_compose_yaml_is_a_submission(tmp_path: Path) -> None:
    student = tmp_path / "class" / "zoe"
    student.mkdir(parents=True)
    (student / "docker-compose.yml").write_text("services: {}\n")
    assert discover([tmp_path / "class"]) == [Submission("zoe", student)]


def test_the_compose_lab_and_its_actions_load_and_unknown_actions_are_named(
    tmp_path: Path,
) -> None:
    lab = load_lab(LABS / "compose-101")
    actions = {a for c in lab.checks if isinstance(c, SurvivalCheck) for a in c.actions}
    assert actions == {"restart", "stop-start", "kill-start", "force-recreate", "down-up",
                       "down-v-up"}  # fmt: skip
    bad = tmp_path / "lab.yaml"
    bad.write_text(
        "title: t\nchecks:\n  - {id: a, points: 1, kind: persists, actions: [upgrade]}\n"
    )
    with pytest.raises(BadLab, match=r"unknown action\(s\) \['upgrade'\]; allowed: .*down-v-up"):
        load_lab(bad)


def test_a_compose_action_on_a_run_txt_submission_fails_with_why() -> None:
    """Before any engine work: the check names the action and what the submission holds."""
    mysql = DATABASES["mysql"]
    graded = GradedContainer(
        mysql, ContainerSpec(image="m:1"), Credentials.random(),
        StandIn("mysql", "mysql", "m:1"), Path("/nowhere"),
    )  # fmt: skip
    check = SurvivalCheck(id="c", points=2, kind="persists", actions=["restart", "down-up"])
    workspace = cast(Workspace, _Cancellable())
    result = grade_survival(check, graded, workspace)
    assert result.status is Status.FAILED
    assert result.message == (
        "down-up is a compose action: this check grades a compose.yaml, and the submission "
        "holds run.txt."
    )


class _Cancellable:
    cancelled = threading.Event()

    def check_cancelled(self) -> None:
        pass
