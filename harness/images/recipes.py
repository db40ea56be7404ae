"""The locally built images: what each is made of, and a tag derived from exactly that."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.model.servers.databases import DATABASES
from harness.model.servers.versions import VERSIONS, ServerVersion, default_version

CONTEXT_ROOT = Path(__file__).parent / "context"
# The entrypoints' shared helpers (logging, `<VAR>_FILE`), one file for every database image.
ENTRYPOINT_LIBRARY = CONTEXT_ROOT / "common" / "entrypoint-lib.sh"
LOCAL_REPOSITORY = "harness-local"
TAG_LENGTH = 12


@dataclass(frozen=True)
class LocalImage:
    """One local image. `parent` is built first; its tag is part of this image's inputs."""

    name: str
    context: Path
    parent: LocalImage | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    # Settings that shape the image but live outside the context (e.g. debootstrap's suite).
    settings: tuple[tuple[str, str], ...] = ()
    # Files from outside the context that the build finds at its root (shared by images).
    shared_files: tuple[Path, ...] = ()

    @property
    def repository(self) -> str:
        return f"{LOCAL_REPOSITORY}/{self.name}"

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.inputs_digest()[:TAG_LENGTH]}"

    def inputs_digest(self) -> str:
        """A hash of everything the build reads: a changed input means a new tag."""
        digest = hashlib.sha256()

        def feed(*parts: str | bytes) -> None:
            for part in parts:
                data = part.encode() if isinstance(part, str) else part
                digest.update(len(data).to_bytes(8, "big"))
                digest.update(data)

        feed("name", self.name)
        feed("parent", self.parent.inputs_digest() if self.parent else "")
        for key, value in sorted(self.build_args + self.settings):
            feed("setting", key, value)
        for name, path in sorted(self.context_files().items()):
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            feed("file", name, executable, path.read_bytes())
        return digest.hexdigest()

    def context_files(self) -> dict[str, Path]:
        """Every file the build's context holds, by its path in the context."""
        files = {
            p.relative_to(self.context).as_posix(): p
            for p in self.context.rglob("*")
            if p.is_file()
        }
        return files | {p.name: p for p in self.shared_files}


DEBIAN_SUITE = "bookworm"


def _debian_base(suite: str) -> LocalImage:
    name = "base" if suite == DEBIAN_SUITE else f"base-{suite}"
    return LocalImage(
        name=name,
        context=CONTEXT_ROOT / "base",
        settings=(("suite", suite), ("variant", "minbase")),
    )


BASE = _debian_base(DEBIAN_SUITE)
# Debian trixie: Docker 26 (docker.io 26.1), PostgreSQL 17, MariaDB 11.8.
BASE_TRIXIE = _debian_base("trixie")
# Debian forky: PostgreSQL 18. Debian sid: Oracle MySQL 9.7 (no other suite carries it).
BASE_FORKY = _debian_base("forky")
BASE_SID = _debian_base("sid")
_BASES = {image.name: image for image in (BASE, BASE_TRIXIE, BASE_FORKY, BASE_SID)}


def _layout_arguments(version: ServerVersion) -> tuple[tuple[str, str], ...]:
    """Where the image keeps its data and which directory it declares as its VOLUME, as the
    official image of that version does (PostgreSQL 18 moved both: docker-library/postgres#1259)."""
    if version.layout is None:
        return ()
    return (("DATA_DIR", version.layout.data_dir), ("VOLUME_DIR", version.layout.volume))


def _database_image(version: ServerVersion) -> LocalImage:
    """One database version's image: the database's context on that version's Debian suite. The
    build checks that the suite's packages really are that version."""
    assert version.debian_suite is not None
    base = "base" if version.debian_suite == DEBIAN_SUITE else f"base-{version.debian_suite}"
    return LocalImage(
        name=f"{version.line}-{version.version}",
        context=CONTEXT_ROOT / version.database,
        parent=_BASES[base],
        build_args=(
            (DATABASES[version.database].major_env, version.version),
            *_layout_arguments(version),
        ),
        shared_files=(ENTRYPOINT_LIBRARY,),
    )


# The database images by (database, version); building one builds its parents first.
VERSION_IMAGES: dict[tuple[str, str], LocalImage] = {
    (v.database, v.version): _database_image(v) for v in VERSIONS if v.debian_suite
}
# The newest of each database: what `--images local` runs unless a version is asked for.
DATABASE_IMAGES: dict[str, LocalImage] = {
    database: VERSION_IMAGES[database, default_version(database, local=True).version]
    for database in dict.fromkeys(v.database for v in VERSIONS)
}

# A second engine (docker-in-docker) for the harness's own remote-engine tests; not a database.
DIND = LocalImage(name="dind", context=CONTEXT_ROOT / "dind", parent=BASE)
DIND_DOCKER_26 = LocalImage(name="dind-docker26", context=CONTEXT_ROOT / "dind", parent=BASE_TRIXIE)

# Every image name the harness builds today; a local image of another name is a retired one.
IMAGE_NAMES = frozenset(
    image.name for image in (*_BASES.values(), DIND, DIND_DOCKER_26, *VERSION_IMAGES.values())
)


def build_order(images: list[LocalImage]) -> list[LocalImage]:
    """Parents before children, each image once."""
    ordered: list[LocalImage] = []

    def visit(image: LocalImage) -> None:
        if image.parent:
            visit(image.parent)
        if image not in ordered:
            ordered.append(image)

    for image in images:
        visit(image)
    return ordered
