"""Does a database image keep its data on a volume? Read from the image config alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.placement import ImageFacts, covering
from harness.model.servers.databases import DATABASES

FIRST_POSTGRES_WITH_PARENT_VOLUME = 18


def detect_database(facts: ImageFacts) -> str | None:
    """Which database an image runs, from its env, else its exposed ports (MySQL and MariaDB
    share 3306: the port alone says MySQL); None if it cannot tell."""
    for profile in DATABASES.values():
        if any(key in facts.env for key in profile.image_env_hints):
            return profile.name
    for profile in DATABASES.values():
        if f"{profile.port}/tcp" in facts.exposed_ports:
            return profile.name
    return None


def postgres_major(facts: ImageFacts) -> int | None:
    for key in ("PG_MAJOR", "PG_VERSION"):
        head = facts.env.get(key, "").split(".", 1)[0]
        if head.isdigit():
            return int(head)
    return None


@dataclass(frozen=True)
class ImageCheck:
    ref: str
    database: str
    data_dir: str
    declared_volumes: tuple[str, ...]
    covering_volume: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return self.covering_volume is not None

    def lines(self) -> list[str]:
        volumes = ", ".join(self.declared_volumes) or "none"
        verdict = (
            f"yes, by VOLUME {self.covering_volume}"
            if self.covered
            else "NO: without a volume the data lives in the writable layer and is lost "
            "when the container is removed"
        )
        return [
            f"image             {self.ref}",
            f"database          {self.database}",
            f"declared volumes  {volumes}",
            f"data directory    {self.data_dir}",
            f"covered           {verdict}",
            *(f"note              {note}" for note in self.notes),
        ]


def check_image(facts: ImageFacts, database: str) -> ImageCheck:
    profile = DATABASES[database]
    data_dir = profile.data_dir_from_image(facts.env)
    notes = []
    if profile.data_dir_env is None:  # a server whose config file names its directory
        notes.append(
            f"the data directory is the server's default ({data_dir}); a config file in the "
            "image can move it, which only a running server shows (@@datadir; the persistence "
            "scenarios check it)"
        )
    if database == "postgres":
        major = postgres_major(facts)
        if major is None or major < FIRST_POSTGRES_WITH_PARENT_VOLUME:
            notes.append(
                "a mount at /var/lib/postgresql does not persist for postgres <= 17: the "
                "image's VOLUME /var/lib/postgresql/data puts an anonymous volume inside it; "
                "mount /var/lib/postgresql/data"
            )
        if major is None or major >= FIRST_POSTGRES_WITH_PARENT_VOLUME:
            notes.append(
                "postgres 18 refuses a mount at /var/lib/postgresql/data (it keeps data in "
                "/var/lib/postgresql/<major>/docker); mount /var/lib/postgresql"
            )
    return ImageCheck(
        ref=facts.ref,
        database=database,
        data_dir=data_dir,
        declared_volumes=facts.declared_volumes,
        covering_volume=covering(facts.declared_volumes, data_dir),
        notes=notes,
    )
