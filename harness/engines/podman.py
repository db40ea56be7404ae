"""Podman beside the host's Docker: Debian's `podman` serving the Docker API on a socket of its own.

Everything this Podman holds lives under one directory (`PodmanHome.root`): its image store,
containers, volumes, network definitions, run state, socket, log and the `containers.conf` it
reads. `engines down` removes that directory whole, so a Podman the user runs (its store under
/var/lib/containers) is never touched. The service runs in a process group of its own, its leader
recorded in a pid file: Podman leaves helpers (a child service, one conmon per container) that a
kill of the first pid alone would leave running.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.containers.engine import Engine
from harness.containers.retry import Backoff, RetryExhausted
from harness.engines.dind import connect_when_answering
from harness.errors import EngineUnavailable
from harness.images.build import Progress

SERVICE_START = Backoff(attempts=100, deadline_seconds=30.0, first_wait=0.2, max_wait=1.0)
STOP_GRACE = 10.0  # seconds the service gets after SIGTERM before SIGKILL
# Podman's default per-container limits: above the caller's hard limits, every container fails
# with "error setting rlimit type 7: operation not permitted" (measured; nofile is type 7).
NPROC_CEILING = 32768
NOFILE_CEILING = 1048576


def containers_conf(nofile_hard: int, nproc_hard: int) -> str:
    """The service's containers.conf: per-container limits within the service's own hard limits
    (it cannot raise them), cgroupfs and file events (no systemd here)."""

    def within(hard: int, ceiling: int) -> int:
        return ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)

    nofile = within(nofile_hard, NOFILE_CEILING)
    nproc = within(nproc_hard, NPROC_CEILING)
    return (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )


@dataclass(frozen=True)
class PodmanHome:
    """Where one Podman engine keeps everything, and how to reach it."""

    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def conf(self) -> Path:
        return self.root / "containers.conf"

    @property
    def pidfile(self) -> Path:
        return self.root / "service.pid"

    @property
    def log(self) -> Path:
        return self.root / "service.log"

    def podman(self, *args: str) -> list[str]:
        """A podman command line on this home's store, never the default one."""
        return [
            "podman",
            "--root", str(self.root / "storage"),
            "--runroot", str(self.root / "run"),
            "--tmpdir", str(self.root / "tmp"),
            "--network-config-dir", str(self.root / "networks"),
            *args,
        ]  # fmt: skip

    @property
    def environment(self) -> dict[str, str]:
        return os.environ | {"CONTAINERS_CONF": str(self.conf)}


def service_pid(home: PodmanHome) -> int | None:
    """The service's process (group leader) when it runs, else None."""
    try:
        pid = int(home.pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_podman(home: PodmanHome, progress: Progress) -> None:
    """Start the service on its socket; the caller waits for it with `connect_podman`."""
    if shutil.which("podman") is None:
        raise EngineUnavailable(
            "Podman is not installed here; install it (`apt-get install podman`, or `make "
            "engines`), then run `python -m harness engines up podman` again."
        )
    if os.geteuid() != 0:
        raise EngineUnavailable(
            "The Podman engine under test runs rootful, as the measurements did; run "
            "`python -m harness engines up podman` as root."
        )
    for part in ("storage", "run", "tmp", "networks"):
        (home.root / part).mkdir(parents=True, exist_ok=True)
    nofile, nproc = (
        resource.getrlimit(resource.RLIMIT_NOFILE),
        resource.getrlimit(resource.RLIMIT_NPROC),
    )
    home.conf.write_text(containers_conf(nofile[1], nproc[1]))
    home.socket.unlink(missing_ok=True)
    progress(f"podman: starting the service on {home.docker_host}")
    with home.log.open("ab") as log:
        service = subprocess.Popen(
            home.podman("system", "service", "--time=0", home.docker_host),
            env=home.environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: `down` stops its helpers with it
        )
    home.pidfile.write_text(f"{service.pid}\n")


def connect_podman(home: PodmanHome) -> Engine:
    """The service, once it answers (then a client patient enough for image loads)."""
    try:
        return connect_when_answering(home.docker_host, SERVICE_START)
    except RetryExhausted:
        tail = _log_tail(home)
        raise EngineUnavailable(
            f"Podman did not answer at {home.docker_host} within "
            f"{SERVICE_START.deadline_seconds:.0f} s; its log ends:\n{tail}"
        ) from None


def stop_podman(home: PodmanHome) -> bool:
    """Remove every container, then the service, then the whole home; whether anything was
    there. Containers go first, through the CLI on the same store: each runs under its own
    conmon, which outlives the service."""
    if not home.root.exists():
        return False
    if shutil.which("podman") is not None:
        for args in (("rm", "--all", "--force", "--time", "0"), ("system", "reset", "--force")):
            subprocess.run(
                home.podman(*args),
                env=home.environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
                timeout=120,
            )
    pid = service_pid(home)
    if pid is not None:
        _stop_group(pid)
    shutil.rmtree(home.root, ignore_errors=True)
    return True


def _stop_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        _reap(pid)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    # The service is this process's child when this process started it: collect its exit.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _log_tail(home: PodmanHome, lines: int = 20) -> str:
    try:
        return "\n".join(home.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
