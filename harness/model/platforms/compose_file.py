"""The compose file of one compose-matrix cell: one database service, stored as the mode says.

Pure: the same cell always gives the same file, so a unit test can read it as a user would. The
passwords are compose `secrets:` (files bind-mounted at /run/secrets, read through `*_FILE`),
never `environment:` values; everything compose creates carries the run's labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.model.holders import Holder
from harness.model.placement import Placement
from harness.model.platforms.compose import COMPOSE_STORAGE
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DatabaseProfile

SERVICE = "db"
DATA_VOLUME = "data"
BIND_SOURCE = "./data"
SECRETS_DIR = "secrets"


@dataclass(frozen=True)
class ComposeProject:
    """What to write into the project's directory: the file and the secret files beside it."""

    file: dict[str, Any]
    secret_files: dict[str, str]  # path relative to the project directory -> content


def compose_project(  # noqa: PLR0917 - one cell's whole configuration
    profile: DatabaseProfile,
    image: str,
    storage: str,
    placement: Placement,
    creds: Credentials,
    labels: Mapping[str, str],
    *,
    publish: str | None,
    external_volume: str | None = None,
) -> ComposeProject:
    """The project for `storage`; `publish` is the `ports:` entry (`127.0.0.1::3306`; None: the
    container is reached at its own address, nothing published), and
    `external_volume` the real name of the volume an `external` mode declares."""
    env = {**profile.init_env(creds), **placement.env}
    secret_files: dict[str, str] = {}
    secrets: dict[str, dict[str, str]] = {}
    for variable in profile.password_variables:
        if variable in env:
            name = variable.lower()
            secret_files[f"{SECRETS_DIR}/{name}"] = env.pop(variable)
            secrets[name] = {"file": f"./{SECRETS_DIR}/{name}"}
            env[f"{variable}_FILE"] = f"/run/secrets/{name}"
    service: dict[str, Any] = {
        "image": image,
        "environment": env,
        "secrets": sorted(secrets),
        "labels": dict(labels),
    }
    if publish:
        service["ports"] = [publish]
    if placement.command:
        service["command"] = placement.command
    top: dict[str, Any] = {
        "services": {SERVICE: service},
        "secrets": secrets,
        "networks": {"default": {"labels": dict(labels)}},
    }
    target = placement.mount_target
    mount = COMPOSE_STORAGE[storage].holder
    if mount is Holder.ANONYMOUS_VOLUME:
        service["volumes"] = [target]
    elif mount is Holder.NAMED_VOLUME:
        service["volumes"] = [f"{DATA_VOLUME}:{target}"]
        top["volumes"] = {DATA_VOLUME: {"labels": dict(labels)}}
    elif mount is Holder.EXTERNAL_VOLUME:
        if not external_volume:
            raise ValueError("the external mode needs the name of a volume made beforehand")
        service["volumes"] = [f"{DATA_VOLUME}:{target}"]
        top["volumes"] = {DATA_VOLUME: {"external": True, "name": external_volume}}
    elif mount is Holder.BIND:
        service["volumes"] = [f"{BIND_SOURCE}:{target}"]
    elif mount is Holder.TMPFS:
        service["tmpfs"] = [target]
    return ComposeProject(top, secret_files)
