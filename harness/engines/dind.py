"""Another engine on this machine: a Debian dockerd in a container (docker-in-docker).

It listens on tcp://ADDRESS:2375 and publishes ports on ADDRESS (a loopback address such as
127.0.0.2, so nothing leaves the machine), as a remote engine or a CI `docker:dind` service
would. `--privileged` fails on these machines (CAP_SYS_RESOURCE is withheld); the flags below are
what was measured to work here (docs/engines.md). Images reach it by `docker save | docker load`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from docker.models.containers import Container

from harness.containers.engine import Engine, Session, remove_quietly
from harness.containers.retry import Backoff, RetryExhausted, retry
from harness.containers.run_state import state_root
from harness.errors import EngineUnavailable
from harness.images.build import Progress, ensure_images
from harness.images.recipes import DIND, LocalImage
from harness.model.spec import ContainerSpec, Mount, MountKind

ENGINE_START = Backoff(attempts=120, deadline_seconds=60.0, first_wait=0.2, max_wait=1.0)
LOAD_TIMEOUT = 600  # seconds for one API call to the second engine (image loads)


@dataclass(frozen=True)
class SecondEngine:
    address: str = "127.0.0.2"
    bridge: str = "harness-dind0"  # its own bridge: the host's docker0 belongs to the host engine
    cidr: str = "10.231.0.1/24"
    image: LocalImage = DIND

    @property
    def docker_host(self) -> str:
        return f"tcp://{self.address}:2375"


def start_dind(
    engine: Engine, where: SecondEngine, name: str, labels: Mapping[str, str], progress: Progress
) -> Container:
    """Build the engine's image if needed and start its container (state on a volume of the
    same name and labels); the caller waits for it with `connect_dind`."""
    ensure_images(engine, [where.image], progress)
    volume = engine.create_volume(name, labels)
    # Bind cells hand the engine a directory under the runs' state root: the engine must see it
    # at the same path (runs started later with another HARNESS_STATE_DIR are not seen).
    runs = state_root()
    runs.mkdir(parents=True, exist_ok=True)
    spec = ContainerSpec(
        where.image.ref,
        command=(where.bridge, where.cidr, where.address),
        mounts=(
            Mount(MountKind.VOLUME, volume, "/var/lib/docker"),
            Mount(MountKind.BIND, "/sys/fs/cgroup", "/sys/fs/cgroup"),
            Mount(MountKind.BIND, "/dev", "/dev"),
            Mount(MountKind.BIND, str(runs), str(runs)),
        ),
        labels=labels,
        name=name,
    )
    progress(f"{name}: starting dockerd on {where.docker_host}")
    return engine.run_detached(
        spec,
        network_mode="host",
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        # (`systempaths=unconfined` is a CLI option the API does not take; dockerd runs without.)
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        device_cgroup_rules=["a *:* rwm"],
    )


def connect_dind(where: SecondEngine, service: Container) -> Engine:
    """The engine in `service`, once it answers (a short timeout while it starts; then a client
    that waits as long as loading a 500 MB image takes)."""
    try:
        return connect_when_answering(where.docker_host, ENGINE_START)
    except RetryExhausted:
        logs = bytes(service.logs(tail=20)).decode(errors="replace")
        raise EngineUnavailable(
            f"The engine in container {service.short_id} did not answer at {where.docker_host} "
            f"within {ENGINE_START.deadline_seconds:.0f} s; its log ends:\n{logs}"
        ) from None


def connect_when_answering(docker_host: str, backoff: Backoff) -> Engine:
    """A client of the engine at `docker_host` once it answers: probed with a short timeout
    while it starts, then connected with one that waits as long as a 500 MB image load takes.
    RetryExhausted when it never answers within `backoff`."""
    probe = retry(lambda: Engine.connect({"DOCKER_HOST": docker_host}, timeout=10), backoff)
    probe.close()
    return Engine.connect({"DOCKER_HOST": docker_host}, timeout=LOAD_TIMEOUT)


def stop_dind(engine: Engine, service: Container, volume: str) -> None:
    # SIGTERM lets the entrypoint stop dockerd and delete its bridge from the host.
    with contextlib.suppress(Exception):
        service.stop(timeout=30)
    remove_quietly(service.remove, force=True, v=True)
    engine.remove_volume(volume)


def load_images(
    engine: Engine, remote: Engine, images: list[str], name: str, progress: Progress
) -> None:
    """`docker save | docker load` of each image the other engine lacks (tags are content
    hashes, so a present tag is the same image)."""
    for ref in images:
        if not remote.has_image(ref):
            progress(f"{name}: loading {ref} (docker save | docker load)")
            engine.copy_image_to(remote, ref)


@contextlib.contextmanager
def second_engine(
    engine: Engine,
    session: Session,
    images: list[str],
    progress: Progress,
    where: SecondEngine = SecondEngine(),
) -> Iterator[Engine]:
    """Start the second engine, load `images` into it, yield it connected; remove it after."""
    name = f"harness-{session.id}-dind"
    service = start_dind(engine, where, name, session.labels, progress)
    remote: Engine | None = None
    try:
        remote = connect_dind(where, service)
        load_images(engine, remote, images, "second engine", progress)
        yield remote
    finally:
        if remote is not None:
            remote.close()
        stop_dind(engine, service, name)
