"""The locally built images: what each is made of, and a tag derived from exactly that."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CONTEXT_ROOT = Path(__file__).parent / "context"
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
        for path in sorted(p for p in self.context.rglob("*") if p.is_file()):
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            feed("file", path.relative_to(self.context).as_posix(), executable, path.read_bytes())
        return digest.hexdigest()


DEBIAN_SUITE = "bookworm"

BASE = LocalImage(
    name="base",
    context=CONTEXT_ROOT / "base",
    settings=(("suite", DEBIAN_SUITE), ("variant", "minbase")),
)
MYSQL = LocalImage(name="mysql", context=CONTEXT_ROOT / "mysql", parent=BASE)
POSTGRES = LocalImage(
    name="postgres",
    context=CONTEXT_ROOT / "postgres",
    parent=BASE,
    build_args=(("PG_MAJOR", "15"),),
)

# A second engine (docker-in-docker) for the harness's own remote-engine tests; not a database.
DIND = LocalImage(name="dind", context=CONTEXT_ROOT / "dind", parent=BASE)

# Debian trixie: Docker 26 (docker.io 26.1), PostgreSQL 17, MariaDB 11.8.
BASE_TRIXIE = LocalImage(
    name="base-trixie",
    context=CONTEXT_ROOT / "base",
    settings=(("suite", "trixie"), ("variant", "minbase")),
)
DIND_DOCKER_26 = LocalImage(name="dind-docker26", context=CONTEXT_ROOT / "dind", parent=BASE_TRIXIE)

# The database images by database name; building one builds its parents first.
DATABASE_IMAGES: dict[str, LocalImage] = {"mysql": MYSQL, "postgres": POSTGRES}


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
