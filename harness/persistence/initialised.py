"""One initialisation per run: an image whose data directory is already initialised.

Most of a cell used to be a server initialising an empty data directory (1.5 to 3.5 s of CPU),
once for the first container and again whenever a recreate lost the data. Here each database
image is initialised once per run, for the run's credentials; its data directory, cleanly shut
down, is added to a per-run image built `FROM` it, at the data directory and at the layer mode's
relocated one. A cell then starts from that image, and the engine does the rest as it does for
any image: a new volume (named or anonymous) is filled with the image's content, and the layer
is the image. A container that loses the rows still starts on exactly what the engine gives it
(the initialised database without the Persons table), so every verdict means what it meant.

Only storage that starts from the image uses it: a bind directory hides the image and tmpfs is
a fresh initialisation by definition; both keep the plain image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import tarfile
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from harness.containers.database import database_container
from harness.containers.deployment import Deployment
from harness.containers.engine import SCOPE_LABEL, Engine, Session, sweep
from harness.containers.managed import spec_of
from harness.errors import EngineUnavailable, HarnessError
from harness.model.cells import Cell
from harness.model.platforms.storage import STORAGE_MODES, StorageMode
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DatabaseProfile

REPOSITORY = "harness-initialised"
ARCHIVE_NAME = "initialised-data.tar"


class Storage(Protocol):
    """What an initialised image depends on, of a `docker run` storage mode or a compose file's
    storage alike."""

    @property
    def starts_from_image(self) -> bool: ...

    @property
    def in_layer(self) -> bool: ...


class InitialisationFailed(HarnessError):
    """The run's one initialisation of a database image did not produce an image."""


def relocate_archive(source: tarfile.TarFile, targets: Sequence[str], out: tarfile.TarFile) -> None:
    """Copy the engine's archive of one directory (its entries under the directory's own name)
    into `out` once per target path, with owners, modes and contents unchanged, so that
    `ADD archive /` recreates the directory at each target."""
    members = source.getmembers()
    if not members:
        raise InitialisationFailed("The engine's archive of the data directory was empty.")
    # Docker names the entries `data`, `data/PG_VERSION`; Podman, for a volume's mount point,
    # ``, `/PG_VERSION`.
    top = PurePosixPath(members[0].name.lstrip("/")).parts[:1]
    for target in targets:
        prefix = PurePosixPath(target.lstrip("/"))
        for member in members:
            relative = PurePosixPath(member.name.lstrip("/"))
            if top and relative.parts[:1] == top:
                relative = relative.relative_to(*top)
            copy = tarfile.TarInfo(str(prefix / relative) if relative.parts else str(prefix))
            for attribute in ("size", "mode", "uid", "gid", "uname", "gname", "mtime", "type"):
                setattr(copy, attribute, getattr(member, attribute))
            copy.linkname = member.linkname
            out.addfile(copy, source.extractfile(member) if member.isfile() else None)


def dockerfile(base_ref: str) -> str:
    # ADD unpacks a local tar with the owners it records (COPY would make everything root's);
    # a Dockerfile, not `docker commit`, because a commit leaves out the image's VOLUME paths.
    return f"FROM {base_ref}\nADD {ARCHIVE_NAME} /\n"


def write_context(out: IO[bytes], base_ref: str, archive: IO[bytes], archive_size: int) -> None:
    """The build context: the Dockerfile and the relocated archive."""
    with tarfile.open(fileobj=out, mode="w") as context:
        text = dockerfile(base_ref).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text)
        context.addfile(info, io.BytesIO(text))
        info = tarfile.TarInfo(ARCHIVE_NAME)
        info.size = archive_size
        context.addfile(info, archive)


def image_name(database: str, session: Session, base_ref: str, *, in_layer: bool) -> str:
    digest = hashlib.sha256(base_ref.encode()).hexdigest()[:8]
    flavour = "layer" if in_layer else "volume"
    return f"{REPOSITORY}/{database}:{session.id}-{digest}-{flavour}"


# Making a database's initialised images costs about 5 s (layer) and 10 s (volumes) here; a
# cell that starts from one saves 1 to 5 s. Below this many such cells of one database in a run
# (one storage row of the matrix is 7), the plain images are quicker.
REUSE_MIN_CELLS = 8


def worth_reusing(cells: Iterable[Cell]) -> frozenset[str]:
    """The databases with enough cells starting from the image for one initialisation to pay."""
    counts = Counter(c.database for c in cells if c.starts_from_image)
    return frozenset(database for database, count in counts.items() if count >= REUSE_MIN_CELLS)


def databases_to_reuse(mode: str, cells: Iterable[Cell]) -> frozenset[str]:
    """`--reuse-init`: on (every database), off (none), auto (where it pays)."""
    match mode:
        case "on":
            return frozenset(c.database for c in cells)
        case "off":
            return frozenset()
        case _:
            return worth_reusing(cells)


@dataclass(frozen=True)
class SharedRun:
    """A run of several processes (pytest-xdist workers) that share its initialised images:
    each image is made once, by the first process that needs it, while the others wait on a
    file lock in `directory`. The images carry the controlling process's session, which removes
    them when every worker is done (`remove_shared_images`); if that process dies, the next
    run's cleanup does, as for any run whose owner is gone.
    """

    session: Session
    directory: Path

    @contextlib.contextmanager
    def lock(self, engine: Engine, ref: str) -> Iterator[None]:
        name = hashlib.sha256(f"{engine.base_url} {ref}".encode()).hexdigest()[:16]
        with (self.directory / f"{name}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield

    def record_engine(self, engine: Engine) -> None:
        """Note where an image is being made, for `remove_shared_images` (before it is made,
        so that a half-made one is found too)."""
        address = engine.docker_host or ""
        name = hashlib.sha256(address.encode()).hexdigest()[:16]
        (self.directory / f"{name}.engine").write_text(address)

    def engines(self) -> list[str | None]:
        """The DOCKER_HOST of each engine an image was made on (None: the default socket)."""
        addresses = (p.read_text() for p in sorted(self.directory.glob("*.engine")))
        return [address or None for address in addresses]


def remove_shared_images(shared: SharedRun) -> None:
    """At the end of the run, on the controlling process: the shared images, on every engine
    they were made on (an engine that no longer answers took them with it)."""
    for address in shared.engines():
        environ = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        if address:
            environ["DOCKER_HOST"] = address
        try:
            engine = Engine.connect(environ)
        except EngineUnavailable:
            continue
        try:
            sweep(engine, shared.session)
        finally:
            engine.close()


class InitialisedImages:
    """The run's initialised images, made on first use per engine, session, image and flavour.

    Two flavours, because an image's VOLUME path is a mount in every container of it:
    - for volumes, the data directory at its own path, built with `ADD` (a commit would leave the
      VOLUME path out); a new volume is filled from it;
    - for the layer, the data directory at the layer mode's path only, committed from a container
      initialised there (1 s against 4 to 8 s for a build here). With the data at both paths,
      the layer cells' anonymous volume would be filled with a copy nobody reads (1.3 s for
      PostgreSQL's 46 MB here).

    They carry the run's labels (not a cell's), so they outlive each cell and go with the run;
    with `shared`, the labels of the run's controlling process, and every process uses them.
    """

    def __init__(
        self,
        creds: Credentials,
        databases: frozenset[str] | None = None,
        shared: SharedRun | None = None,
    ) -> None:
        self.creds = creds
        self.databases = databases  # None: every database
        self.shared = shared
        self._refs: dict[tuple[str, str, str, bool], str] = {}
        self._lock = threading.Lock()

    def image_for(
        self,
        engine: Engine,
        session: Session,
        image: str,
        profile: DatabaseProfile,
        storage: Storage,
    ) -> str:
        """The image a cell on `storage` starts from: an initialised one where the storage
        takes its first content from the image, else `image` itself."""
        if not storage.starts_from_image:
            return image
        if self.databases is not None and profile.name not in self.databases:
            return image
        run = self.shared.session if self.shared else Session(session.id, session.owner)
        key = (engine.base_url, run.id, image, storage.in_layer)
        with self._lock:
            if key not in self._refs:
                self._refs[key] = self._make(engine, run, image, profile, in_layer=storage.in_layer)
            return self._refs[key]

    def _make(
        self, engine: Engine, run: Session, image: str, profile: DatabaseProfile, *, in_layer: bool
    ) -> str:
        make = commit_layer_image if in_layer else build_volume_image
        if self.shared is None:
            return make(engine, run, image, profile, self.creds)
        ref = image_name(profile.name, run, image, in_layer=in_layer)
        with self.shared.lock(engine, ref):
            if engine.has_image(ref):  # another process made it
                return ref
            self.shared.record_engine(engine)
            return make(engine, run, image, profile, self.creds)


@contextlib.contextmanager
def initialised_container(  # noqa: PLR0917 - where, whose, which image, as whom, how stored
    engine: Engine,
    session: Session,
    image: str,
    profile: DatabaseProfile,
    creds: Credentials,
    storage: StorageMode,
) -> Iterator[Deployment]:
    """A container of `image` on `storage` that initialised its data directory for `creds` and
    then shut down cleanly (what a restart starts from); removed afterwards."""
    # A scope (and so container names) of its own per image: with a shared run, two processes
    # make a database's two flavours at once, and one's sweep must not take the other's.
    scope = session.scoped(f"initialise-{profile.name}-{storage.name}")
    with (
        database_container(engine, scope, image, profile, creds) as container,
        Deployment(engine, scope, profile, creds, storage, container, spec_of(container)) as d,
    ):
        d.start_new()
        with closing(d.connect()):
            pass
        d.container.stop()
        yield d


def build_volume_image(
    engine: Engine, session: Session, image: str, profile: DatabaseProfile, creds: Credentials
) -> str:
    """The image with the initialised data directory at its own path (where volumes go)."""
    ref = image_name(profile.name, session, image, in_layer=False)
    with (
        initialised_container(
            engine, session, image, profile, creds, STORAGE_MODES["anonymous"]
        ) as deployment,
        tempfile.TemporaryFile() as raw,
    ):
        data_dir = deployment.placement.data_dir
        chunks = engine.archive_of(deployment.container.id, data_dir)
        _spool(chunks, raw)
        _build_with_archive(engine, session, image, raw, data_dir, ref)
    return ref


def commit_layer_image(
    engine: Engine, session: Session, image: str, profile: DatabaseProfile, creds: Credentials
) -> str:
    """The image with the initialised data directory at the layer mode's path, committed with
    the original image's configuration (not the initialising container's) and the run's labels."""
    ref = image_name(profile.name, session, image, in_layer=True)
    repository, tag = ref.rsplit(":", 1)
    config = dict(engine.image_attrs(image)["Config"])
    config["Labels"] = {**(config.get("Labels") or {}), **session.labels}
    with initialised_container(
        engine, session, image, profile, creds, STORAGE_MODES["layer"]
    ) as deployment:
        # The engine adds the container's labels to the image's; an emptied scope label keeps
        # the image from the initialising scope's sweep (it belongs to the run).
        engine.commit(
            deployment.container.id, repository, tag, changes=f"LABEL {SCOPE_LABEL}=", config=config
        )
    return ref


def _build_with_archive(  # noqa: PLR0917 - where, labels, from what, which data, where to, as
    engine: Engine, session: Session, image: str, raw: IO[bytes], target: str, ref: str
) -> None:
    with tempfile.TemporaryFile() as relocated, tempfile.TemporaryFile() as context:
        with (
            tarfile.open(fileobj=raw, mode="r") as source,
            tarfile.open(fileobj=relocated, mode="w") as out,
        ):
            relocate_archive(source, (target,), out)
        size = relocated.tell()
        relocated.seek(0)
        write_context(context, image, relocated, size)
        context.seek(0)
        _build(engine, context, ref, session)


def _spool(chunks: Iterable[bytes], into: IO[bytes]) -> None:
    for chunk in chunks:
        into.write(chunk)
    into.seek(0)


def _build(engine: Engine, context: IO[bytes], ref: str, session: Session) -> None:
    stream: Iterator[dict[str, object]] = engine.build_image(
        fileobj=context,
        custom_context=True,
        tag=ref,
        labels=session.labels,
        rm=True,
        forcerm=True,
        pull=False,
    )
    for chunk in stream:
        if "error" in chunk:
            raise InitialisationFailed(
                f"Building {ref} failed: {str(chunk['error']).strip()}; run with "
                "--reuse-init off to initialise every container itself."
            )
