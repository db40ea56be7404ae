"""What a run keeps outside the engine's labels, so that a run killed by any signal can be
cleaned up after.

The engine labels containers, named volumes, networks and images, but not the anonymous volume a
container's `VOLUME` gets, and not a host directory. So each run owns one state directory,
`<state root>/<session id>/`, holding:

- `owner`: the `host:pid` of the run (written first, atomically), so a cleaner can tell a dead
  run from a live one;
- `volumes`: a ledger of every anonymous volume the run's containers got, appended as soon as a
  container starts (before any step could leave the volume dangling);
- `binds/` and `scratch/`: every bind-mounted directory and every scratch copy of a submission.

`start_run` removes dead runs' leftovers (labelled resources, recorded volumes, directories) of
this host; `end_run` removes the run's own; `clean_dead_runs` is `python -m harness clean`.
The ledger is written with plain `write` calls: a killed process's writes are in the kernel
already, which is all a process kill needs (a power loss is not a harness run's concern).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.containers.engine import (
    Engine,
    Session,
    SweepReport,
    owner_host,
    owner_is_alive,
    sweep,
)
from harness.containers.engine_watch import (
    answers,
    forget_refused_sockets,
    wait_for_engine,
    watch_restarts,
)
from harness.errors import EnvironmentProblem

STATE_DIR_ENV = "HARNESS_STATE_DIR"
OWNER_FILE = "owner"
VOLUMES_FILE = "volumes"


def unwritable(root: Path, error: OSError) -> EnvironmentProblem:
    reason = error.strerror or str(error)
    if root.is_symlink() and not root.exists():
        reason = f"a symbolic link to {os.readlink(root)}, which does not exist"
    return EnvironmentProblem(
        f"The harness cannot write its state directory {root} ({reason}); "
        f"set {STATE_DIR_ENV} to a writable directory."
    )


def state_root() -> Path:
    """Where runs keep their state: `$HARNESS_STATE_DIR`, else `<tmp>/harness-runs`."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "harness-runs"


@dataclass(frozen=True)
class RunState:
    directory: Path

    @classmethod
    def of(cls, session: Session) -> RunState:
        """The session's state directory, made (with its owner file) on first use."""
        state = cls(state_root() / session.id)
        if not (state.directory / OWNER_FILE).exists():
            try:
                state.directory.mkdir(parents=True, exist_ok=True)
                partial = state.directory / f".{OWNER_FILE}.{os.getpid()}"
                partial.write_text(session.owner)
                partial.replace(state.directory / OWNER_FILE)  # never a half-written owner
            except OSError as error:
                raise unwritable(state_root(), error) from None
        return state

    @property
    def owner(self) -> str:
        try:
            return (self.directory / OWNER_FILE).read_text().strip()
        except OSError:
            return ""

    def new_directory(self, kind: str, prefix: str) -> Path:
        """A fresh directory under `binds/` or `scratch/`, removed with the run at the latest."""
        parent = self.directory / kind
        parent.mkdir(parents=True, exist_ok=True)
        made = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        if kind == "binds":
            # As `mkdir` makes a user's bind source (mkdtemp's is 0700): a server whose data
            # directory lies below the mount (PostgreSQL 18's, under /var/lib/postgresql) must
            # be able to pass through it as its own user.
            made.chmod(0o755)
        return made

    def record_volumes(self, names: Iterable[str]) -> None:
        lines = "".join(f"{name}\n" for name in names)
        if lines:
            with (self.directory / VOLUMES_FILE).open("a") as ledger:
                ledger.write(lines)

    def recorded_volumes(self) -> list[str]:
        try:
            text = (self.directory / VOLUMES_FILE).read_text()
        except OSError:
            return []
        return [line for line in text.splitlines() if line]

    def remove(self, engine: Engine) -> tuple[int, list[str]]:
        """Remove the recorded volumes that no container uses and the directory; the number of
        volumes removed and any path that could not be removed."""
        removed = 0
        for name in self.recorded_volumes():
            if engine.volume_exists(name) and not engine.volume_users(name):
                engine.remove_volume(name)
                removed += 1
        stuck: list[str] = []
        shutil.rmtree(self.directory, onerror=lambda _f, path, _e: stuck.append(path))
        return removed, stuck


@dataclass
class LeftoverReport:
    labelled: SweepReport
    volumes: int = 0  # recorded anonymous volumes
    runs: int = 0  # state directories removed
    stuck: list[str] | None = None  # paths the cleaner could not remove (another user's files)

    def __str__(self) -> str:
        text = (
            f"{self.labelled}, {self.volumes} recorded anonymous volume(s), {self.runs} run dir(s)"
        )
        if self.stuck:
            text += f"; could not remove {len(self.stuck)} path(s) such as {self.stuck[0]}"
        return text


def _run_is_dead(state: RunState, *, spare_live: bool, other_hosts: bool) -> bool:
    owner = state.owner
    if not owner:
        return False  # being created this instant (the owner file comes first)
    if owner_host(owner) != socket.gethostname() and not other_hosts:
        return False
    return not spare_live or not owner_is_alive(owner)


def clean_dead_runs(
    engine: Engine, *, spare_live: bool = True, other_hosts: bool = True
) -> LeftoverReport:
    """Remove what runs that are no longer alive left: labelled resources first (a container
    goes with its anonymous volumes), then the volumes their ledgers recorded, then their
    directories. `other_hosts=False` spares runs of other machines sharing the engine (their
    liveness cannot be checked from here); `spare_live=False` removes live runs' too."""
    labelled = sweep(engine, spare_live=spare_live, spare_other_hosts=not other_hosts)
    report = LeftoverReport(labelled)
    root = state_root()
    try:
        runs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    except OSError as error:
        raise unwritable(root, error) from None
    stuck: list[str] = []
    for directory in runs:
        state = RunState(directory)
        if _run_is_dead(state, spare_live=spare_live, other_hosts=other_hosts):
            volumes, left = state.remove(engine)
            report.volumes += volumes
            report.runs += 1
            stuck += left
    report.stuck = stuck
    return report


def start_run(engine: Engine) -> Session:
    """A new session, after removing this host's dead runs' leftovers; from here on the engine's
    restarts are watched (a cell it stopped says so, never blames its image)."""
    watch_restarts(engine)
    clean_dead_runs(engine, other_hosts=False)
    session = Session.new()
    RunState.of(session)
    return session


def end_run(engine: Engine, session: Session) -> None:
    """Remove everything the run made: labelled resources, recorded volumes, its directory."""
    sweep(engine, session)
    RunState.of(session).remove(engine)


def end_run_or_say(
    engine: Engine, session: Session, say: Callable[[str], None], wait: float = 0.0
) -> None:
    """`end_run`. An engine that does not answer is waited for (up to `wait` seconds, with
    progress) and asked again; if it still cannot, say how to remove it later instead of
    failing (the results are reported either way, and a pytest teardown adds no failure)."""
    for attempt in range(2):
        try:
            end_run(engine, session)
            return
        except Exception:  # the engine's failure, whatever the SDK calls it
            forget_refused_sockets()
        if attempt or wait <= 0 or answers(engine):
            break
        if not wait_for_engine(lambda: answers(engine), show=say, limit=wait):
            break
    say(
        "could not remove what this run made (the engine does not answer); run "
        "`python -m harness clean` once it does."
    )
