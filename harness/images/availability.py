"""Is an official image usable: present on the engine, or (when allowed) in a registry?"""

from __future__ import annotations

from collections.abc import Callable

from harness.engine import Engine


def official_available(engine: Engine, *, ask_registry: bool) -> Callable[[str], bool]:
    """A check for `choose_images`. With `ask_registry`, a registry that knows the ref counts.

    The registry is asked for the manifest only (no layers); where no registry is reachable the
    answer is a quick "no" and `auto` falls back to local images.
    """

    def check(ref: str) -> bool:
        if engine.has_image(ref):
            return True
        if not ask_registry:
            return False
        try:
            engine.client.api.inspect_distribution(ref)  # type: ignore[no-untyped-call]
        except Exception:  # unreachable, unknown, unauthorised: all mean "not for us"
            return False
        return True

    return check
