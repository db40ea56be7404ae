"""`compose-check` on real compose files: the docs' two examples exit as the docs say, and a user's
running project of the same file keeps its containers, volume and rows."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runs import run_harness

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine
from harness.containers.readiness import wait_until_ready
from harness.containers.run_state import STATE_DIR_ENV
from harness.model.outcomes import Outcome
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.servers.persons import PERSONS_ROWS, observe, write_persons
from harness.persistence.compose_scenario import ComposeService

pytestmark = pytest.mark.compose
EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def _left_by(engine: Engine, pid: int) -> list[str]:
    """Labelled containers, volumes and networks the harness process `pid` owned (the other
    compose-check tests beside it, under -n 2, name theirs alike)."""
    owned = {"label": f"{OWNER_LABEL}={socket.gethostname()}:{pid}"}
    client = engine.client
    return (
        [c["Id"] for c in client.api.containers(all=True, filters=owned)]
        + [v.name for v in client.volumes.list(filters=owned)]
        + [n.name for n in client.networks.list(filters=owned)]
    )


def test_the_named_volume_example_keeps_the_rows_and_exits_0(
    tmp_path: Path, harness_engine: Engine, contract: Callable[[str, Any], None]
) -> None:
    report = tmp_path / "named.json"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "compose-check",
            str(EXAMPLES / "compose-named-volume.yaml"),
            "--json",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HARNESS_IMAGES": "local"},
    ) as running:
        stdout, stderr = running.communicate(timeout=900)
    done = subprocess.CompletedProcess(running.args, running.returncode, stdout, stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every must-survive action (restart, stop-start, kill-start, force-recreate, " in (
        done.stdout
    )
    contract("compose-check", json.loads(report.read_text()))
    results = json.loads(report.read_text())["results"]
    assert [r["id"] for r in results] == [
        "db-restart", "db-stop-start", "db-kill-start", "db-force-recreate",
        "db-renew-anon-volumes", "db-down-up", "db-down-v-up", "db-rename-project",
    ]  # fmt: skip
    assert all(r["passed"] for r in results), results
    assert {r["storage"] for r in results} == {"named"}
    assert {r["stand_in"] for r in results} != {None}  # mariadb:11 is not on this engine
    assert "change-me-in-production" not in done.stdout + done.stderr + report.read_text()
    assert _left_by(harness_engine, running.pid) == []


def test_the_no_volume_example_loses_the_rows_on_down_up_and_exits_1(tmp_path: Path) -> None:
    report = tmp_path / "anonymous.json"
    done = run_harness("compose-check", str(EXAMPLES / "compose-no-volume.yaml"),
                    "--json", str(report))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "db loses its rows on down-up: keep /var/lib/postgresql/data in a named volume: add "
        "`- db-data:/var/lib/postgresql/data` under db's `volumes:`"
    ) in done.stdout
    by_action = {r["action"]: r for r in json.loads(report.read_text())["results"]}
    assert by_action["down-up"]["observed"] == "lost"
    assert by_action["force-recreate"]["observed"] == "survives"  # compose's carry-over
    assert all(r["passed"] for r in by_action.values()), by_action


# Files as users write them for today's servers: (example, the action it runs, exit code, what
# every result observes, a sentence the output must hold).
TODAYS_SERVERS = [
    ("compose-postgres-18-old-mount.yaml", 1, "refused",
     "db does not start, so it keeps nothing on down-up: mount the volume at /var/lib/postgresql"),
    ("compose-postgres-17-new-mount.yaml", 1, "lost",
     "which Docker mounts inside your mount at /var/lib/postgresql"),
    ("compose-mysql-removed-option.yaml", 1, "refused",
     "MySQL 9.7 stops at start on `--mysql-native-password=ON`"),
]  # fmt: skip


@pytest.mark.parametrize(("example", "exit_code", "observed", "says"), TODAYS_SERVERS)
def test_files_for_todays_servers_are_judged_as_the_official_images_behave(
    tmp_path: Path, example: str, exit_code: int, observed: str, says: str
) -> None:
    """PostgreSQL 18 over its old data directory and MySQL 9 with a removed option refuse to
    start (expected before anything runs, seen on the real servers); 18's mount on 17 loses the
    rows to the nested VOLUME. Each exits 1 with the fix."""
    report = tmp_path / "report.json"
    done = run_harness("compose-check", str(EXAMPLES / example), "--action", "down-up",
                       "--must-survive", "down-up", "--json", str(report))  # fmt: skip
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert says in done.stdout
    results = json.loads(report.read_text())["results"]
    assert [(r["action"], r["expected"], r["observed"]) for r in results] == [
        ("down-up", observed, observed)
    ]
    assert "advice" in results[0]
    if observed == "refused":  # the server's own words, seen
        assert results[0]["detail"].startswith("the server refused to start: ")


def test_postgres_18_with_its_own_mount_keeps_the_rows_and_a_foreign_major_refusal_has_no_verdict(
    tmp_path: Path,
) -> None:
    """`postgres` untagged with a volume at /var/lib/postgresql runs PostgreSQL 18 and keeps the
    rows; `mysql:8.4` with an option 8.4 still reads but 9.7 removed runs on the 9.7 stand-in,
    whose refusal is not 8.4's answer: no verdict, exit 2, both said."""
    kept = tmp_path / "pg.yaml"
    old = (EXAMPLES / "compose-postgres-18-old-mount.yaml").read_text()
    untagged = old.replace("postgres:18", "postgres")
    kept.write_text(untagged.replace("/postgresql/data", "/postgresql"))
    only_down_up = ("--action", "down-up", "--must-survive", "down-up")
    done = run_harness("compose-check", str(kept), *only_down_up)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran as harness-local/postgres-18:" in done.stdout
    foreign = tmp_path / "mysql84.yaml"
    removed = (EXAMPLES / "compose-mysql-removed-option.yaml").read_text()
    foreign.write_text(removed.replace("mysql:9.7", "mysql:8.4"))
    done = run_harness("compose-check", str(foreign), *only_down_up)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mysql:8.4 (version 8.4) ran on MySQL 9.7" in done.stdout
    assert "so this is not the answer of the version named" in done.stdout


@pytest.fixture
def users_project(tmp_path: Path, local_images: dict[str, str]) -> Iterator[tuple[Path, str]]:
    """A user's own MariaDB project, running under its own name, torn down afterwards."""
    name = f"user-shop-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "compose.yaml"
    file.write_text(yaml.safe_dump({
        "name": name,
        "services": {"db": {
            "image": local_images["mariadb"],
            "container_name": f"{name}-db",
            "environment": {"MARIADB_ROOT_PASSWORD": "userpw", "MARIADB_DATABASE": "shop"},
            "ports": ["127.0.0.1::3306"],
            "volumes": ["data:/var/lib/mysql"],
        }},
        "volumes": {"data": {}},
    }))  # fmt: skip
    compose = Compose(compose_binary())
    try:
        up = compose.run(["-f", str(file), "up", "-d"], cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        yield file, name
    finally:
        compose.run(["-f", str(file), "down", "-v", "-t", "1"], cwd=tmp_path)


def test_a_users_running_project_of_the_same_file_keeps_its_rows(
    users_project: tuple[Path, str], harness_engine: Engine
) -> None:
    file, name = users_project
    profile = DATABASES["mariadb"]
    creds = Credentials("root", "userpw", "userpw", "shop")
    service = ComposeService(harness_engine, name)
    container_id = harness_engine.client.containers.get(f"{name}-db").id
    with closing(wait_until_ready(service, profile, creds)) as connection:
        write_persons(connection)

    # down-v-up would remove the project's volume, were it the user's project.
    done = run_harness("compose-check", str(file), "--action", "down-v-up",
                    "--must-survive", "restart")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "db's `container_name` is left out" in done.stdout

    container = harness_engine.client.containers.get(f"{name}-db")
    assert container.id == container_id
    assert container.status == "running"
    assert harness_engine.volume_exists(f"{name}_data")
    seen = observe(profile.classify_missing, lambda: wait_until_ready(service, profile, creds),
                   PERSONS_ROWS)  # fmt: skip
    assert seen.outcome is Outcome.SURVIVES, seen.detail


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--service", "nope"], "has no service 'nope'; it has db."),
        (
            ["--must-survive", "reboot"],
            "--must-survive names 'reboot', not an action on one engine",
        ),
        (
            ["--action", "move-node"],
            "--action names 'move-node', not an action on one engine (add "
            "--on swarm for the swarm's)",
        ),
        (["--database", "mysql"], "--database says which database a --service runs"),
    ],
)
def test_usage_problems_exit_2_in_one_sentence(args: list[str], says: str) -> None:
    done = run_harness("compose-check", str(EXAMPLES / "compose-no-volume.yaml"), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_compose_refuses_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  db:\n    image: postgres\n    volumez: [/x]\n")
    done = run_harness("compose-check", str(bad))
    assert done.returncode == 2
    assert "is not a compose file Compose accepts" in done.stderr
    assert "volumez" in done.stderr


def test_a_check_killed_mid_action_leaves_nothing_after_clean(
    tmp_path: Path, harness_engine: Engine
) -> None:
    """SIGKILL right after `down` then `up` made a second container (the first one's anonymous
    volume dangles, unlabelled): `clean` finds the project's containers, network and volumes.
    The volumes judged are the victim's own, read from its containers' mounts: other tests'
    anonymous volumes dangle for a moment too (a recreate's, before its teardown)."""
    state = tmp_path / "state"
    env = {**os.environ, "HARNESS_IMAGES": "local", STATE_DIR_ENV: str(state)}
    victim = subprocess.Popen(
        [sys.executable, "-m", "harness", "compose-check", str(EXAMPLES / "compose-no-volume.yaml"),
         "--action", "down-up", "--must-survive", "down-up"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    owner = f"{socket.gethostname()}:{victim.pid}"
    seen: set[str] = set()
    volumes: set[str] = set()
    deadline = time.monotonic() + 180
    while len(seen) < 2 and victim.poll() is None and time.monotonic() < deadline:
        found = harness_engine.client.api.containers(
            all=True, filters={"label": f"{OWNER_LABEL}={owner}"}
        )
        seen |= {c["Id"] for c in found}
        volumes |= {m["Name"] for c in found for m in c["Mounts"] if m.get("Type") == "volume"}
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert len(seen) == 2, "the check never made its second container: nothing to prove"
    dangling = volumes & _dangling(harness_engine)
    assert dangling, "no anonymous volume of the check dangled: nothing to prove"

    done = subprocess.run([sys.executable, "-m", "harness", "clean"], env=env,
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    left = harness_engine.client.api.containers(
        all=True, filters={"label": f"{OWNER_LABEL}={owner}"}
    )
    networks = harness_engine.client.networks.list(filters={"label": f"{OWNER_LABEL}={owner}"})
    assert left == []
    assert networks == []
    assert [v for v in sorted(volumes) if harness_engine.volume_exists(v)] == []
    assert list(state.iterdir()) == []


def _dangling(engine: Engine) -> set[str]:
    unused = engine.client.volumes.list(filters={"dangling": True})
    return {str(v.name) for v in unused if SESSION_LABEL not in (v.attrs.get("Labels") or {})}


def test_a_compose_check_split_in_two_and_merged_exits_and_reports_as_the_unsplit_run(
    tmp_path: Path,
) -> None:
    file = str(EXAMPLES / "compose-no-volume.yaml")
    narrow = ("--action", "restart", "--action", "down-v-up", "--must-survive", "down-up")
    whole = tmp_path / "whole.json"
    done = run_harness("compose-check", file, *narrow, "--json", str(whole))
    assert done.returncode == 1, done.stdout + done.stderr
    shards = [tmp_path / f"shard-{k}.json" for k in (1, 2)]
    for k, path in enumerate(shards, start=1):
        done = run_harness("compose-check", file, *narrow, "--shard", f"{k}/2", "--json", str(path))
        assert done.returncode == (0 if k == 1 else 1), done.stdout + done.stderr
    merged = tmp_path / "merged.json"
    done = run_harness("merge", *map(str, shards), "--json", str(merged), "--html",
                    str(tmp_path / "merged.html"))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # down-up lost, as unsplit
    assert "db loses its rows on down-up" in done.stdout
    unsplit, report = json.loads(whole.read_text()), json.loads(merged.read_text())
    assert set(report) == set(unsplit) == {"compose_file", "engine", "compose_version", "results"}

    def verdicts(results: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(r["id"], r["expected"], r["observed"], r["passed"]) for r in results]

    assert verdicts(report["results"]) == verdicts(unsplit["results"])
    assert [r["id"] for r in report["results"]] == ["db-restart", "db-down-up", "db-down-v-up"]
