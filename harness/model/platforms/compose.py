"""The compose matrix's vocabulary: storage as a compose file declares it, actions as compose
commands, and what Compose promises for each pair.

A compose project adds rules of its own to the engine's: `up --force-recreate` hands the old
container's anonymous volumes to the new one, `-V` does not, `down` forgets them, `down -v`
removes the project's named volumes but not `external` ones, and a named volume's real name is
prefixed with the project's. As in the `docker run` matrix, each action has a fate and each
storage mode promises an outcome per fate; the table follows from the two.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from harness.model.engine_info import EngineInfo, version_tuple
from harness.model.holders import Holder
from harness.model.outcomes import DOCKER_BEFORE_23, DOCKER_SINCE_23, PODMAN_4, Outcome, Promise
from harness.model.servers.versions import MOVED_VOLUME, upgrade_promise

S, L = Outcome.SURVIVES, Outcome.LOST


class ComposeFate(Enum):
    """What a compose action does to the service's container and the project's storage."""

    SAME_CONTAINER = "the same container runs again"
    RECREATED = "compose recreates the container, handing it the old one's anonymous volumes"
    RENEWED = "compose recreates the container with new, empty anonymous volumes"
    DOWN_UP = "`down` removes the project's containers and networks; `up` makes new ones"
    DOWN_V_UP = "`down -v` also removes the project's named and anonymous volumes"
    NEW_PROJECT = "another project name: new containers, new volume names"


@dataclass(frozen=True)
class ComposeAction:
    name: str
    # The compose commands, in order; `{other}` is a second project name.
    commands: tuple[tuple[str, ...], ...]
    fate: ComposeFate
    summary: str  # "a restart", for reasons
    upgrades: bool = False  # the service's image becomes the next major version first

    @property
    def command(self) -> str:
        return "; ".join("docker compose " + " ".join(c) for c in self.commands)

    @property
    def renames_project(self) -> bool:
        return any("{other}" in part for c in self.commands for part in c)


UP = ("up", "-d")
COMPOSE_ACTIONS: dict[str, ComposeAction] = {
    a.name: a
    for a in (
        ComposeAction("restart", (("restart",),), ComposeFate.SAME_CONTAINER, "a restart"),
        ComposeAction("stop-start", (("stop",), ("start",)), ComposeFate.SAME_CONTAINER,
                      "a stop and start"),
        ComposeAction("kill-start", (("kill",), ("start",)), ComposeFate.SAME_CONTAINER,
                      "a kill and start"),
        ComposeAction("force-recreate", ((*UP, "--force-recreate"),), ComposeFate.RECREATED,
                      "`up --force-recreate`"),
        ComposeAction("renew-anon-volumes", ((*UP, "--force-recreate", "-V"),),
                      ComposeFate.RENEWED, "`up --force-recreate -V`"),
        ComposeAction("down-up", (("down",), UP), ComposeFate.DOWN_UP, "`down` then `up`"),
        ComposeAction("down-v-up", (("down", "-v"), UP), ComposeFate.DOWN_V_UP,
                      "`down -v` then `up`"),
        ComposeAction("rename-project", (("down",), ("-p", "{other}", *UP)),
                      ComposeFate.NEW_PROJECT, "`down`, then `up` under another project name"),
        ComposeAction("upgrade", (UP,), ComposeFate.RECREATED,
                      "`up` with the next major version's image", upgrades=True),
    )
}  # fmt: skip
COMPOSE_ACTION_NAMES = tuple(COMPOSE_ACTIONS)


@dataclass(frozen=True)
class ComposeStorage:
    name: str
    description: str
    holder: Holder
    # Per fate: the outcome, and why (in the words of the lesson; `{action}`: the action's
    # summary).
    promises: dict[ComposeFate, Promise]

    @property
    def in_layer(self) -> bool:
        return self.holder is Holder.LAYER

    @property
    def starts_from_image(self) -> bool:
        return self.holder.starts_from_image


F = ComposeFate
_ANONYMOUS = {
    F.SAME_CONTAINER: Promise(S, "the container keeps its anonymous volume through {action}"),
    F.RECREATED: Promise(S, "compose hands the old container's anonymous volumes to the new one"),
    F.RENEWED: Promise(L, "-V gives the new container new, empty anonymous volumes"),
    F.DOWN_UP: Promise(L, "`down` forgets the anonymous volume; `up` gives the new container a "
                          "new, empty one (the old one dangles)"),
    F.DOWN_V_UP: Promise(L, "`down -v` removes the anonymous volume with the container"),
    F.NEW_PROJECT: Promise(L, "the new project's container gets a new, empty anonymous volume"),
}  # fmt: skip
_KEPT = "the volume outlives the container"
_EVERY_FATE_KEEPS = dict.fromkeys(
    ComposeFate, Promise(S, "the files are in a host directory, which compose never removes")
)
_EVERY_FATE_EMPTIES = dict.fromkeys(
    ComposeFate, Promise(L, "a tmpfs lives in memory and is emptied whenever its container stops")
)

COMPOSE_STORAGE: dict[str, ComposeStorage] = {
    s.name: s
    for s in (
        ComposeStorage("layer", "data directory off every volume", Holder.LAYER, {
            F.SAME_CONTAINER: Promise(S, "the container's writable layer survives {action}"),
            F.RECREATED: Promise(L, "a new container starts from the image, without the old layer"),
            F.RENEWED: Promise(L, "a new container starts from the image, without the old layer"),
            F.DOWN_UP: Promise(L, "`down` removes the container and its writable layer"),
            F.DOWN_V_UP: Promise(L, "`down -v` removes the container and its writable layer"),
            F.NEW_PROJECT: Promise(L, "the new project's container starts from the image"),
        }),
        ComposeStorage("anonymous", "the image's VOLUME, no `volumes:` entry",
                       Holder.IMAGE_VOLUME, _ANONYMOUS),
        ComposeStorage("anonymous-declared", "`volumes: [/path]` without a source",
                       Holder.ANONYMOUS_VOLUME, _ANONYMOUS),
        ComposeStorage("named", "a top-level named volume", Holder.NAMED_VOLUME, {
            F.SAME_CONTAINER: Promise(S, _KEPT),
            F.RECREATED: Promise(S, _KEPT),
            F.RENEWED: Promise(S, "-V renews anonymous volumes only; the named volume is kept"),
            F.DOWN_UP: Promise(S, "`down` keeps named volumes"),
            F.DOWN_V_UP: Promise(L, "`down -v` removes the project's named volumes"),
            F.NEW_PROJECT: Promise(L, "a named volume's real name starts with the project's, so "
                            "another project name gets a new, empty volume"),
        }),
        ComposeStorage("external", "a volume declared `external: true`", Holder.EXTERNAL_VOLUME, {
            F.SAME_CONTAINER: Promise(S, _KEPT),
            F.RECREATED: Promise(S, _KEPT),
            F.RENEWED: Promise(S, "-V renews anonymous volumes only"),
            F.DOWN_UP: Promise(S, "compose never removes an external volume"),
            F.DOWN_V_UP: Promise(S, "`down -v` leaves external volumes alone"),
            F.NEW_PROJECT: Promise(S, "an external volume keeps its own name in any project"),
        }),
        ComposeStorage("bind", "`./data:/path`", Holder.BIND, _EVERY_FATE_KEEPS),
        ComposeStorage("tmpfs", "`tmpfs: [/path]`", Holder.TMPFS, _EVERY_FATE_EMPTIES),
    )
}  # fmt: skip
COMPOSE_STORAGE_NAMES = tuple(COMPOSE_STORAGE)


# Where the table was observed (`pytest -m compose`, every cell, both databases): Compose 2.40
# (2.40.3) on Docker 20.10.24, Docker 26.1.5 and Podman 4.3.1, the engine ranges below. Older
# Compose lines had bugs of their own (2.3.x: `down -v` removed external volumes).
OBSERVED_COMPOSE_LINES = ((2, 40),)
OBSERVED_ENGINE_RANGES = (DOCKER_BEFORE_23, DOCKER_SINCE_23, PODMAN_4)


def unverified_because(compose_version: str, engine: EngineInfo) -> str | None:
    """Why the table is not proven for this Compose and engine (None: it was observed there)."""
    line = version_tuple(compose_version)[:2]
    if line not in OBSERVED_COMPOSE_LINES:
        observed = ", ".join(".".join(map(str, v)) for v in OBSERVED_COMPOSE_LINES)
        return f"unverified: the table was observed with Compose {observed}, not {compose_version}"
    if not any(r.contains(engine) for r in OBSERVED_ENGINE_RANGES):
        return f"unverified: the table was not observed on {engine.name} {engine.version}"
    return None


def compose_promise(storage: str, action: str) -> Promise:
    """What Compose promises for the rows (before any upgrade's own verdict), and why."""
    compose_action = COMPOSE_ACTIONS[action]
    promise = COMPOSE_STORAGE[storage].promises[compose_action.fate]
    return replace(promise, reason=promise.reason.format(action=compose_action.summary))


def compose_expect(storage: str, action: str, upgrade_line: str | None = None) -> Promise:
    """A compose cell's promise: Compose's, and for an upgrade on storage that keeps the rows,
    the next version's answer (`upgrade_line`'s; None: unknown versions, which must read them)."""
    promise = compose_promise(storage, action)
    upgrades = COMPOSE_ACTIONS[action].upgrades
    if upgrades and (upgrade_line or "").endswith(MOVED_VOLUME):
        moved = _moved_volume_promise(COMPOSE_STORAGE[storage].holder)
        if moved:
            return moved
    if upgrades and promise.outcome is Outcome.SURVIVES:
        return upgrade_promise(upgrade_line)
    return promise


def _moved_volume_promise(holder: Holder) -> Promise | None:
    """An upgrade to an image that declares its VOLUME elsewhere (PostgreSQL 17 -> 18), for the
    storage it changes (measured with the compose matrix): the image's own volume is not handed
    on, and a volume the file declares at the old data directory is a mount the new server
    refuses to start over."""
    if holder is Holder.IMAGE_VOLUME:
        return Promise(
            Outcome.LOST,
            "the next version's image declares its VOLUME at another path (PostgreSQL 18: "
            "/var/lib/postgresql): compose hands the old anonymous volume on only at its own "
            "path, so the new server starts on a new, empty one (the old one dangles)",
        )
    if holder is Holder.ANONYMOUS_VOLUME:
        return Promise(
            Outcome.REFUSED,
            "the file's anonymous volume sits at the old data directory, and PostgreSQL 18's "
            "image refuses to start over a mount there; the old version still reads it",
        )
    return None
