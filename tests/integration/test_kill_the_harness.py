"""A harness run SIGKILLed at any moment leaves nothing that `clean` cannot find and remove, and
`clean` never touches a live run.

Victims are `pytest -m persistence` and `python -m harness run` on the cells that make anonymous
volumes dangle and fill bind directories (recreate, volumes-from), each killed (its whole process
group, SIGKILL) at a seeded moment. A live run goes on meanwhile, and `clean` runs after every
kill: the live run must still finish with every cell as promised.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testcontainers.core.container import DockerContainer

from harness.containers.deployment import Deployment
from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine, Session
from harness.containers.managed import spec_of
from harness.containers.run_state import STATE_DIR_ENV, RunState, clean_dead_runs, state_root
from harness.model.platforms.actions import ACTIONS
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import MYSQL

SEED = 20261128
KILLS = 10
REPO = Path(__file__).parents[2]
RISKY_CELLS = "(anonymous or bind) and (recreate or volumes-from) and not rm-v"
VICTIMS = (
    [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "persistence",
     "scenarios/test_persistence.py", "-k", RISKY_CELLS],
    [sys.executable, "-m", "harness", "run", "--storage", "anonymous", "--storage", "bind",
     "--action", "recreate", "--action", "volumes-from"],
)  # fmt: skip
LIVE_RUN = [sys.executable, "-m", "harness", "run", "--database", "mysql", "--storage", "named",
            "--action", "restart", "--action", "recreate", "--action", "kill-start"]  # fmt: skip


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    return env | {STATE_DIR_ENV: str(state), "HARNESS_IMAGES": "local"}


def _start(argv: list[str], state: Path, log: Path | None = None) -> subprocess.Popen[bytes]:
    with (log or Path(os.devnull)).open("wb") as output:
        return subprocess.Popen(
            argv,
            cwd=REPO,
            env=_env(state),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches every child too
        )


def _dangling(engine: Engine) -> set[str]:
    """Unused volumes no label finds (anonymous ones: the engine gives them no labels). A
    labelled one is findable: a killed run's is `_owned_by`'s, and the suite's other workers'
    named volumes are unused for a moment between containers (CI once counted two so)."""
    unused = engine.client.volumes.list(filters={"dangling": True})
    return {str(v.name) for v in unused if SESSION_LABEL not in (v.attrs.get("Labels") or {})}


def _owned_by(engine: Engine, owners: set[str]) -> list[str]:
    """Labelled containers, volumes and networks whose owner is one of `owners`."""
    client = engine.client
    labelled = {"label": SESSION_LABEL}
    # the low-level listing: no inspect of other tests' containers, removed meanwhile
    found = [
        (f"container {c['Names']}", c["Labels"])
        for c in client.api.containers(all=True, filters=labelled)
    ]
    found += [
        (f"volume {v.name}", v.attrs.get("Labels")) for v in client.volumes.list(filters=labelled)
    ]
    found += [
        (f"network {n.name}", n.attrs.get("Labels")) for n in client.networks.list(filters=labelled)
    ]
    return [what for what, labels in found if (labels or {}).get(OWNER_LABEL) in owners]


def _recorded_by_live_runs() -> set[str]:
    """Anonymous volumes that runs of this machine still alive (this test's own, say) recorded:
    they may dangle for a moment between a recreate and its teardown."""
    root = state_root()
    runs = [RunState(p) for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    return {name for run in runs for name in run.recorded_volumes()}


def _outcome(process: subprocess.Popen[bytes], log: Path) -> tuple[int, str]:
    return process.returncode, log.read_text()[-2000:]


def _clean(state: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "clean"],
        cwd=REPO, env=_env(state), capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.usefixtures("local_images")
def test_runs_killed_at_seeded_moments_leave_nothing_after_clean_and_spare_a_live_run(
    harness_engine: Engine, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    source = random.Random(SEED)  # noqa: S311 - a reproducible schedule, not a secret
    dangling_before = _dangling(harness_engine)
    host = socket.gethostname()
    victims: set[str] = set()
    live_log = tmp_path / "live.log"
    live = _start(LIVE_RUN, state, live_log)
    live_results: list[tuple[int, str]] = []
    # What each killed run left labelled the moment it died: some kill must have left work for
    # `clean`, or the moments proved nothing (read per victim, so another run's leftovers, or a
    # number in a path, cannot stand in for it).
    left_by_kills: list[list[str]] = []
    for kill in range(KILLS):
        victim = _start(VICTIMS[kill % 2], state)
        owner = f"{host}:{victim.pid}"
        victims.add(owner)
        time.sleep(source.uniform(3.0, 15.0))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        left_by_kills.append(_owned_by(harness_engine, {owner}))
        _clean(state)  # while the live run goes on
        if live.poll() is not None:  # the live run finished: judge it, start another
            live_results.append(_outcome(live, live_log))
            live = _start(LIVE_RUN, state, live_log)
    live.wait(timeout=300)
    live_results.append(_outcome(live, live_log))
    _clean(state)

    leftovers = _owned_by(harness_engine, victims)
    assert leftovers == [], f"labelled resources of killed runs remain: {leftovers}"
    new_dangling = _dangling(harness_engine) - dangling_before - _recorded_by_live_runs()
    assert new_dangling == set(), f"anonymous volumes nobody can find: {sorted(new_dangling)}"
    assert list(state.iterdir()) == [], "a killed run's state (bind directories) remains"
    assert any(left_by_kills), "no kill left anything labelled: the moments proved nothing"
    assert [rc for rc, _ in live_results] == [0] * len(live_results), live_results


def test_clean_finds_a_dead_runs_dangling_anonymous_volume_and_bind_directory(
    harness_engine: Engine,
    local_images: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The moment the kills above may or may not hit, made certain: a run dies right after a
    recreate left its first container's anonymous volume dangling (no label can name it) and
    while its bind directory is full."""
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    # The run's process is alive while it builds its state, as a real run's is: other runs'
    # cleaners (every run's start sweeps this host's dead runs) must spare it until it dies.
    run_process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    dead = Session(
        id=f"dead{os.urandom(2).hex()}", owner=f"{socket.gethostname()}:{run_process.pid}"
    )
    try:
        creds = Credentials.random()
        image = local_images["mysql"]
        deployments = []
        for storage in ("anonymous", "bind"):
            container = DockerContainer(image, env=MYSQL.init_env(creds))
            d = Deployment(harness_engine, dead.scoped(storage), MYSQL, creds,
                           STORAGE_MODES[storage], container, spec_of(container))  # fmt: skip
            d.start_new()
            d.perform(ACTIONS["recreate"])
            deployments.append(d)
        anonymous, bind = deployments
        dangling = anonymous.dangling_volumes()
        assert dangling, "the recreate left no dangling volume: nothing to prove"
        assert bind.resource
        assert Path(bind.resource).is_relative_to(tmp_path / "state")
    finally:
        # The run dies here: no teardown. A cleaner in another process knows only the disk.
        run_process.kill()
        run_process.wait()
        report = clean_dead_runs(harness_engine)  # also when the set-up failed: nothing stays
    assert [v for v in dangling if harness_engine.volume_exists(v)] == []
    assert not Path(bind.resource).exists()
    assert list((tmp_path / "state").iterdir()) == []
    assert report.volumes == len(dangling)
    assert _owned_by(harness_engine, {dead.owner}) == []
