"""Passwords as files, not environment variables: a container's environment is shown by
`docker inspect` to anyone who can reach the engine; a file mounted read-only is not.

Each password goes into a file under the run's state directory (a mode 0700 directory, so other
users of the host cannot reach it) and is mounted read-only at `/run/secrets/<name>`, where the
image's entrypoint reads it through `<VARIABLE>_FILE`, the official images' contract.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from harness.containers.run_state import RunState
from harness.model.spec import Mount, MountKind

SECRETS_TARGET = "/run/secrets"


def is_secret_mount(destination: str) -> bool:
    """Whether a container path is where the harness mounts password files (not data)."""
    return destination.startswith(f"{SECRETS_TARGET}/")


def as_secret_files(
    env: Mapping[str, str], variables: tuple[str, ...], run: RunState
) -> tuple[dict[str, str], tuple[Mount, ...]]:
    """`env` with each of `variables` it sets replaced by `<VARIABLE>_FILE`, and the read-only
    mounts that put the files there."""
    directory = run.directory / "secrets"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    moved = dict(env)
    mounts = []
    for variable in variables:
        if variable not in moved:
            continue
        host_file = directory / f"{variable.lower()}-{secrets.token_hex(4)}"
        host_file.write_text(moved.pop(variable))
        # The server reads it as its own user, whose uid the host does not know; the directory
        # above keeps it from the host's other users.
        host_file.chmod(0o644)
        target = f"{SECRETS_TARGET}/{variable.lower()}"
        moved[f"{variable}_FILE"] = target
        mounts.append(Mount(MountKind.BIND, str(host_file), target, read_only=True))
    return moved, tuple(mounts)
