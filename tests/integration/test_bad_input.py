"""Bad input against a real engine: each gets one sentence that says what to do, never a
traceback, and nothing is left behind.

(No engine at all: tests/unit/test_no_engine.py. Hostile text: tests/unit/test_fuzz_parsers.py.)
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import HarnessRun, run_harness
from testcontainers.core.container import DockerContainer

from harness.containers.database import database_container, running_database
from harness.containers.deployment import Deployment
from harness.containers.engine import OWNER_LABEL, SCOPE_LABEL, SESSION_LABEL, Engine, Session
from harness.containers.managed import ManagedContainer, configure, spec_of
from harness.containers.readiness import wait_until_ready
from harness.containers.retry import Backoff
from harness.containers.run_state import STATE_DIR_ENV
from harness.errors import HarnessError, NotReady
from harness.images.recipes import BASE
from harness.model.cells import Cell
from harness.model.durability import SAFE, Campaign, CampaignPlan, plan_rounds
from harness.model.outcomes import Outcome
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import MYSQL, POSTGRES
from harness.model.spec import ContainerSpec, Mount, MountKind
from harness.persistence.byo import check_persistence
from harness.persistence.durability import CrashRounds
from harness.persistence.scenario import run_cell

REPO = Path(__file__).parents[2]
# The owners (host:pid) of the harness processes this module started: what they made is theirs.
CHILD_OWNERS: set[str] = set()


def _harness(*args: str, env: dict[str, str] | None = None) -> HarnessRun:
    """A harness process whose leftovers the test looks for afterwards (its owner noted)."""
    run = run_harness(*args, env=env, timeout=300)
    CHILD_OWNERS.add(f"{socket.gethostname()}:{run.pid}")
    return run


def _labelled_leftovers(engine: Engine, scope: str, owners: set[str]) -> list[str]:
    """Labelled containers, volumes and networks of this test's scope or of its harness
    processes (every harness process's labels name its owner)."""
    client = engine.client
    labelled = {"label": SESSION_LABEL}
    found = [
        (f"container {c['Names']}", c["Labels"] or {})
        for c in client.api.containers(all=True, filters=labelled)
    ]
    found += [
        (f"volume {v.name}", v.attrs.get("Labels") or {})
        for v in client.volumes.list(filters=labelled)
    ]
    found += [
        (f"network {n.name}", n.attrs.get("Labels") or {})
        for n in client.networks.list(filters=labelled)
    ]
    return [
        what
        for what, labels in found
        if labels.get(SCOPE_LABEL, "").startswith(scope) or labels.get(OWNER_LABEL) in owners
    ]


@pytest.fixture(autouse=True)
def nothing_left_behind(harness_engine: Engine, harness_test_session: Session) -> Iterator[None]:
    """Each test, after it ends and before the test session's sweep, has left nothing labelled
    behind: neither in its own scope nor from the harness processes it started."""
    CHILD_OWNERS.clear()
    yield
    leftovers = _labelled_leftovers(harness_engine, harness_test_session.scope_value, CHILD_OWNERS)
    assert leftovers == [], f"left behind: {leftovers}"


def _one_sentence(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_missing_image_is_named(harness_engine: Engine) -> None:
    done = _harness("run", "--database", "mysql", "--mysql-image", "harness-missing/mysql:0")
    assert "harness-missing/mysql:0 are not on the engine" in _one_sentence(done)


def test_an_image_that_is_not_a_database_is_refused_before_any_container(
    harness_engine: Engine,
) -> None:
    done = _harness("run", "--database", "postgres", "--postgres-image", BASE.ref)
    line = _one_sentence(done)
    assert f"Image {BASE.ref} does not look like a postgres server" in line
    assert "pass a postgres image" in line


@pytest.mark.parametrize("kind", ["a file", "a dangling link"])
def test_a_state_directory_that_cannot_be_written_is_one_sentence(
    harness_engine: Engine, tmp_path: Path, kind: str
) -> None:
    if kind == "a file":
        (tmp_path / "file").write_text("")
        state = tmp_path / "file" / "state"
    else:
        state = tmp_path / "link"
        state.symlink_to(tmp_path / "nowhere")
    done = _harness(
        "run", "--database", "mysql", "--storage", "bind", "--action", "restart",
        env={STATE_DIR_ENV: str(state)},
    )  # fmt: skip
    line = _one_sentence(done)
    assert f"cannot write its state directory {state}" in line
    if kind == "a dangling link":
        assert "a symbolic link to" in line


def test_a_server_that_exits_at_once_gives_its_exit_code_and_log_tail(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    creds = Credentials.random()
    image = local_images["postgres"]
    with database_container(
        harness_engine, harness_test_session, image, POSTGRES, creds
    ) as container:
        container.with_command(["sh", "-c", "echo 'configuration is broken' >&2; exit 7"])
        cell = Cell("postgres", "named", "recreate")
        result = run_cell(harness_engine, harness_test_session, cell, container, creds)
    assert result.error
    assert result.observed is None
    assert "exited before it answered (status exited, exit code 7" in result.error
    assert "| configuration is broken" in result.error
    assert result.error.endswith("fix the image or its settings.")


def test_a_server_that_exits_at_once_saying_why_has_refused_to_start_in_its_words(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    """A refusal in the server's log is the cell's outcome, `refused`, not a harness failure."""
    creds = Credentials.random()
    with database_container(
        harness_engine, harness_test_session, local_images["postgres"], POSTGRES, creds
    ) as container:
        container.with_command(["sh", "-c", "echo 'FATAL: configuration is broken' >&2; exit 7"])
        cell = Cell("postgres", "named", "recreate")
        result = run_cell(harness_engine, harness_test_session, cell, container, creds)
    assert not result.error
    assert result.observed is Outcome.REFUSED
    assert result.detail.startswith("the server refused to start: FATAL: configuration is broken")
    assert "; fix: " in result.detail
    assert not result.passed


def test_a_server_that_never_answers_is_given_up_at_its_deadline_with_the_log_tail(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    creds = Credentials.random()
    spec = ContainerSpec(
        local_images["mysql"],
        env=MYSQL.init_env(creds),
        command=("sh", "-c", "echo waiting for nothing; exec sleep 600"),
        ports=(MYSQL.port,),
        labels=harness_test_session.labels,
    )
    pristine = DockerContainer(spec.image)
    sleeper = ManagedContainer.start(
        configure(pristine, spec, harness_engine, publish=(MYSQL.port,)), harness_engine, spec
    )
    backoff = Backoff(attempts=100, deadline_seconds=4.0, first_wait=0.1, max_wait=0.5)
    try:
        with pytest.raises(NotReady) as raised:
            wait_until_ready(sleeper, MYSQL, creds, backoff)
    finally:
        sleeper.remove(volumes=True)
    message = str(raised.value)
    assert "did not answer as user 'harness' within 4 s" in message
    assert "| waiting for nothing" in message
    assert creds.password not in message


def test_a_full_data_directory_stops_the_server_with_the_reason_in_its_log_tail(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    """A 4 MB tmpfs-backed volume: initialising PostgreSQL needs ten times that. (At the image's
    VOLUME, /var/lib/postgresql from 18: a mount at .../data is refused before any write.)"""
    volume = harness_engine.client.volumes.create(
        f"harness-full-{harness_test_session.id}",
        driver="local",
        driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=4m"},
        labels=harness_test_session.labels,
    )
    creds = Credentials.random()
    data = Mount(MountKind.VOLUME, str(volume.name), "/var/lib/postgresql")
    try:
        with (
            running_database(
                harness_engine, harness_test_session, local_images["postgres"], POSTGRES, creds,
                mounts=(data,),
            ) as server,
            pytest.raises(NotReady) as raised,
        ):  # fmt: skip
            wait_until_ready(server, POSTGRES, creds)
    finally:
        volume.remove(force=True)
    message = str(raised.value)
    assert "exited before it answered" in message
    assert "No space left on device" in message


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A host port something else listens on, on every address."""
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))  # noqa: S104 - to clash with the engine's publishing
    holder.listen(1)
    yield int(holder.getsockname()[1])
    holder.close()


def test_a_host_port_already_in_use_cannot_collide(
    harness_engine: Engine,
    local_images: dict[str, str],
    busy_port: int,
    harness_test_session: Session,
) -> None:
    """Every port the harness publishes is one the engine picks free (on 127.0.0.1): a user's
    own binding to a busy host port is republished that way, so the cell still runs (the engine
    would refuse the busy port: "address already in use")."""
    creds = Credentials.random()
    container = DockerContainer(local_images["postgres"], env=POSTGRES.init_env(creds))
    container.with_bind_ports(POSTGRES.port, busy_port).with_bind_ports(9187, busy_port)
    result = check_persistence(
        container,
        storage="named",
        action="restart",
        engine=harness_engine,
        session=harness_test_session,
    )
    assert not result.error
    assert result.passed
    assert container.ports == {"5432": busy_port, "9187": busy_port}  # the user's, unchanged


def test_a_server_gone_before_the_crash_rounds_kill_is_no_verdict_with_its_exit(
    harness_engine: Engine, local_images: dict[str, str], harness_test_session: Session
) -> None:
    """A server that exits on its own mid-round (not the harness's kill) ends the campaign with
    why, instead of the engine's 'is not running' conflict."""
    creds = Credentials.random()
    plan = CampaignPlan("postgres", "named", True, "no loss")
    campaign = Campaign("postgres", "named", SAFE, 1, 4, 400, "no loss")
    scope = harness_test_session.scoped(f"{harness_test_session.scope}-gone")
    with (
        database_container(
            harness_engine, harness_test_session, local_images["postgres"], POSTGRES, creds
        ) as container,
        Deployment(harness_engine, scope, POSTGRES, creds,
                   STORAGE_MODES[plan.storage], container, spec_of(container)) as d,
    ):  # fmt: skip
        crash = CrashRounds(d, campaign, creds)
        crash.start()
        d.container.stop()  # the server goes away by itself, as far as the campaign knows
        with pytest.raises(HarnessError) as raised:
            crash.kill(plan_rounds(1, campaign.id, 1, 400)[0])
    message = str(raised.value)
    assert "The server of postgres-named exited on its own in round 1" in message
    assert "exit code 0" in message
    assert "| " in message  # the log tail
    assert creds.password not in message
