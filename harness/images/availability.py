"""Is an official image usable: present on the engine, or (when allowed) in a registry?"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.containers.engine import Engine
from harness.errors import UsageError
from harness.images.inspect import detect_database
from harness.images.sources import (
    ImageChoice,
    ImageRequest,
    choose_images,
    images_missing,
    missing_images_error,
)
from harness.model.placement import ImageFacts
from harness.model.servers.databases import DATABASES


def official_available(engine: Engine, *, ask_registry: bool) -> Callable[[str], bool]:
    """A check for `choose_images`. With `ask_registry`, a registry that knows the ref counts.

    The registry is asked for the manifest only (no layers); where no registry is reachable the
    answer is a quick "no" and `auto` falls back to local images.
    """

    def check(ref: str) -> bool:
        if engine.has_image(ref):
            return True
        return ask_registry and engine.in_registry(ref)

    return check


def select_images(
    engine: Engine, request: ImageRequest, *, ask_registry: bool
) -> list[ImageChoice]:
    """`choose_images` against a real engine."""
    return choose_images(
        request.source,
        request.overrides,
        official_available(engine, ask_registry=ask_registry),
        versions=request.versions,
        environ=request.environ,
    )


def require_present(engine: Engine, choices: list[ImageChoice]) -> None:
    """Raise ImageMissing (one sentence naming the fix) unless every chosen image is present,
    and a UsageError if an image chosen for a database does not look like that database."""
    missing = [c for c in choices if not engine.has_image(c.ref)]
    if missing:
        raise missing_images_error(missing)
    for choice in choices:
        if choice.database in DATABASES:
            _require_database(engine, choice)


def require_refs(engine: Engine, refs: Sequence[str], step: str) -> None:
    """ImageMissing (one sentence ending with `step`, what gets them) unless every image of
    `refs` is on the engine."""
    missing = [ref for ref in refs if not engine.has_image(ref)]
    if missing:
        raise images_missing(missing, step)


def database_of_image(engine: Engine, ref: str) -> str | None:
    """Which database an image on the engine runs, from its config (an env hint or its port);
    None when it cannot tell."""
    return detect_database(ImageFacts.from_config(ref, engine.image_attrs(ref)["Config"]))


def cannot_tell_database(ref: str, how_to_say: str) -> UsageError:
    """The one sentence for an image whose database nobody can tell."""
    ports = " or ".join(str(p.port) for p in DATABASES.values())
    return UsageError(
        f"Cannot tell which database {ref} runs (no known variable, no exposed port {ports}); "
        f"pass {how_to_say} ({' or '.join(DATABASES)})."
    )


def _require_database(engine: Engine, choice: ImageChoice) -> None:
    """The image's config must name the database (an env hint or its port): a wrong image
    otherwise ends every cell in "exited before it answered" with nothing to go on."""
    if database_of_image(engine, choice.ref) == choice.database:
        return
    profile = DATABASES[choice.database]
    raise UsageError(
        f"Image {choice.ref} does not look like a {choice.database} server (its config sets "
        f"none of {', '.join(profile.image_env_hints)} and exposes no port {profile.port}); "
        f"pass a {choice.database} image or one built FROM it."
    )
