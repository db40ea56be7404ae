"""Canaries: the run's passwords appear nowhere a user, a log collector or `docker inspect` sees;
and the database containers run unprivileged, without the engine's socket, on no port that faces
the network.

Known passwords go in (an overridden `harness_credentials` fixture, a failing server that prints
its password, a student's `run.txt`); then every output is searched for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.containers.database import database_container
from harness.containers.engine import Engine, Session
from harness.frontends.reports.html import to_html
from harness.frontends.reports.json_report import to_json
from harness.frontends.reports.terminal import summary
from harness.model.cells import Cell
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import MYSQL, POSTGRES
from harness.persistence.scenario import run_cell

REPO = Path(__file__).parents[2]
# Distinct from anything else a run prints, and URL-safe like the harness's own passwords.
CANARY_USER_PASSWORD = "CanaryUserPw7Qx2"
CANARY_ROOT_PASSWORD = "CanaryRootPw9Zk4"
CANARIES = (CANARY_USER_PASSWORD, CANARY_ROOT_PASSWORD)

# A pytest plugin for the run under test: fixed credentials, and a watcher that keeps
# `docker inspect` of every container the run labels while its tests run.
CANARY_PLUGIN = """
import json, os, threading
import docker.errors
import pytest
from harness.model.servers.credentials import Credentials

# Every run's random credentials are the canaries (a fixture override would lose to the
# harness's own plugin, which registers after `-p` plugins).
Credentials.random = classmethod(lambda cls, **_: Credentials("harness", {user!r}, {root!r}))

@pytest.fixture(autouse=True)
def inspect_watch(harness_engine, harness_session):
    seen, secrets, stop = {{}}, set(), threading.Event()
    def watch():
        while not stop.wait(0.2):
            label = {{"label": "harness.session=" + harness_session.id}}
            try:
                for c in harness_engine.client.containers.list(all=True, filters=label):
                    seen[c.id] = c.attrs
                    for m in c.attrs.get("Mounts") or []:
                        if m["Destination"] == "/run/secrets":
                            for name in os.listdir(m["Source"]):
                                with open(os.path.join(m["Source"], name)) as secret:
                                    secrets.add(secret.read())
            except (docker.errors.NotFound, OSError):
                pass  # removed between listing and reading: the next look sees the rest
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()
    with open({inspect_path!r}, "a") as out:
        out.write(json.dumps({{"inspect": list(seen.values()), "secrets": sorted(secrets)}}))
        out.write("\\n")
"""


def assert_no_canary(where: str, text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"a password appears in {where}"


@pytest.mark.usefixtures("local_images")
def test_no_password_in_output_reports_or_docker_inspect_of_a_pytest_run(tmp_path: Path) -> None:
    inspected = tmp_path / "inspect.jsonl"
    plugin = tmp_path / "canary_plugin.py"
    plugin.write_text(
        textwrap.dedent(CANARY_PLUGIN).format(
            user=CANARY_USER_PASSWORD, root=CANARY_ROOT_PASSWORD, inspect_path=str(inspected)
        )
    )
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "canary_plugin", "-p", "no:cacheprovider",
         "-m", "persistence", "scenarios/test_persistence.py", "-v",
         "-k", "mysql-named-recreate-rm-v or postgres-bind-volumes-from or mysql-layer-restart",
         f"--harness-report={report}", f"--junitxml={junit}"],
        cwd=REPO, env=env | {"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout
    watched = [json.loads(line) for line in inspected.read_text().splitlines()]
    containers = [c for w in watched for c in w["inspect"]]
    assert len(containers) >= 3, "the watcher saw no container: nothing was checked"
    for where, text in [
        ("stdout", done.stdout),
        ("stderr", done.stderr),
        ("the JSON report", report.read_text()),
        ("the JUnit report", junit.read_text()),
        ("docker inspect", json.dumps(containers)),
    ]:
        assert_no_canary(where, text)
    # The canaries really went in (through the files the containers mount).
    assert {s for w in watched for s in w["secrets"]} == set(CANARIES)
    # The passwords went in through files: every database container's password variables name
    # files under /run/secrets, and none carries a password itself. Its name holds its cell id
    # (or its initialisation's), which names the database.
    checked = set()
    for c in containers:
        if not c["Name"].startswith("/harness-"):
            continue  # a one-shot helper, no server
        profile = MYSQL if "-mysql-" in c["Name"] else POSTGRES
        names = {e.partition("=")[0]: e.partition("=")[2] for e in c["Config"]["Env"]}
        # Every password variable the harness configures (its own init variables) is a file.
        configured = set(profile.init_env(Credentials("u", "p", "r", "d")))
        for variable in profile.password_variables:
            assert variable not in names, f"{c['Name']} sets {variable} itself"
            if variable in configured:
                assert names[f"{variable}_FILE"].startswith("/run/secrets/"), c["Name"]
        checked.add(profile.name)
    assert checked == {"mysql", "postgres"}, "no database container of each kind was checked"
    # And the rest of the containers' security: none privileged, no engine socket inside, the
    # database port facing no network: on this machine's own engine the harness reaches it at
    # the container's address (nothing published), else on a loopback port only.
    at_address = Engine.connect(env).reaches_by_address
    for c in containers:
        assert c["HostConfig"]["Privileged"] is False
        assert not any("docker.sock" in m["Source"] for m in c["Mounts"])
        if not c["Name"].startswith("/harness-"):
            continue  # a one-shot helper (emptying a bind directory) publishes nothing
        bindings = [b for port in (c["HostConfig"]["PortBindings"] or {}).values() for b in port]
        if at_address:
            assert bindings == [], c["Name"]
        else:
            assert bindings
            assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}


def test_no_password_in_the_log_tail_of_a_server_that_prints_it(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    """A server that writes its password to its log and exits: the error quotes the log tail
    (the point of attaching it), with the password masked, in every report format."""
    creds = Credentials("harness", CANARY_USER_PASSWORD, CANARY_ROOT_PASSWORD)
    image = local_images["mysql"]
    with database_container(harness_engine, harness_test_session, image, MYSQL, creds) as container:
        container.with_command(
            ["sh", "-c", "echo root=$(cat $MYSQL_ROOT_PASSWORD_FILE) user=$MYSQL_PASSWORD; exit 3"]
        )
        # The variable is set in the environment for this one container, so both ways of
        # leaking (a file's content, a variable's value) reach the log.
        container.with_env("MYSQL_PASSWORD", CANARY_USER_PASSWORD)
        cell = Cell("mysql", "named", "restart")
        result = run_cell(harness_engine, harness_test_session, cell, container, creds)
    assert result.error, "the server exited at once, so there is no verdict"
    assert "exit code 3" in result.error
    assert "root=******** user=********" in result.error  # the log tail is there, masked
    rendered = [
        ("the result", result.error),
        ("the summary", "\n".join(line.text for line in summary([result]))),
        ("the JSON report", json.dumps(to_json(harness_engine.info, {}, [result]))),
        ("the HTML report", to_html(harness_engine.info, {}, [result])),
    ]
    for where, text in rendered:
        assert_no_canary(where, text)


@pytest.mark.usefixtures("local_images")
def test_no_student_password_in_grading_output(tmp_path: Path) -> None:
    """The samples' passwords (`rootroot`, ...) are the students' own; feedback, reports and the
    terminal must not echo them, even for a refused submission that quotes its run line."""
    samples = REPO / "scenarios" / "labs" / "volumes-101" / "samples"
    chosen = [samples / "dev-tmpfs", samples / "fay-hostile"]
    student_passwords = {
        word.split("=", 1)[1]
        for sample in chosen
        for word in (sample / "run.txt").read_text().split()
        if "PASSWORD=" in word
    }
    assert student_passwords, "the samples set no password: nothing to look for"
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "grade", "scenarios/labs/volumes-101", *map(str, chosen),
         "--json", str(out / "grades.json"), "--junit", str(out / "junit.xml"),
         "--feedback", str(out / "feedback"), "--gradebook", str(out / "gradebook.csv"),
         "--gradescope", str(out / "gradescope")],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-3000:]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 4
    for password in student_passwords:
        for where, text in [
            ("stdout", done.stdout),
            ("stderr", done.stderr),
            *((str(p), p.read_text()) for p in written),
        ]:
            assert password not in text, f"a student's password appears in {where}"
