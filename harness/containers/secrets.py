"""Passwords as files, not environment variables: a container's environment is shown by
`docker inspect` to anyone who can reach the engine; a file on a volume is not.

The passwords go into a small volume, labelled like everything else the run makes, written
through the engine's archive API (so it works on a remote engine too, where a host directory
would not exist), and mounted read-only at `/run/secrets`, where the image's entrypoint reads each
through `<VARIABLE>_FILE` — the official images' contract.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping

from harness.containers.engine import SCOPE_LABEL, Engine, Session
from harness.model.spec import Mount, MountKind

SECRETS_TARGET = "/run/secrets"


def is_secret_mount(destination: str) -> bool:
    """Whether a container path is where the harness mounts password files (not data)."""
    return destination == SECRETS_TARGET or destination.startswith(f"{SECRETS_TARGET}/")


@contextlib.contextmanager
def secret_files(
    engine: Engine, session: Session, image: str, env: Mapping[str, str], variables: tuple[str, ...]
) -> Iterator[tuple[dict[str, str], tuple[Mount, ...]]]:
    """`env` with each of `variables` it sets replaced by `<VARIABLE>_FILE`, and the read-only
    mount that puts the files there; the volume is removed afterwards.

    The volume carries the run's labels but not a scenario's scope, so a scenario's own
    `volume prune` (limited to its scope) cannot take it from under the next container.
    """
    moved = dict(env)
    files = {variable.lower(): moved.pop(variable) for variable in variables if variable in moved}
    if not files:
        yield moved, ()
        return
    run_labels = {k: v for k, v in session.labels.items() if k != SCOPE_LABEL}
    volume = engine.create_volume(
        f"harness-{session.id}-secrets-{secrets.token_hex(4)}", run_labels
    )
    try:
        engine.write_files(volume, files, image, run_labels)
        for name in files:
            moved[f"{name.upper()}_FILE"] = f"{SECRETS_TARGET}/{name}"
        yield moved, (Mount(MountKind.VOLUME, volume, SECRETS_TARGET, read_only=True),)
    finally:
        engine.remove_volume(volume)
