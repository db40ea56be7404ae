"""Is an official image usable: present on the engine, or (when allowed) in a registry?"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.containers.engine import Engine
from harness.images.sources import ImageChoice, ImageSource, choose_images, missing_images_error


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
    engine: Engine,
    source: ImageSource,
    overrides: Mapping[str, str | None],
    *,
    ask_registry: bool,
) -> list[ImageChoice]:
    """`choose_images` against a real engine."""
    return choose_images(source, overrides, official_available(engine, ask_registry=ask_registry))


def require_present(engine: Engine, choices: list[ImageChoice]) -> None:
    """Raise ImageMissing (one sentence naming the fix) unless every chosen image is present."""
    missing = [c for c in choices if not engine.has_image(c.ref)]
    if missing:
        raise missing_images_error(missing)
