"""The one factory of database containers: an image configured as its official image's contract
says (the variables that initialise it for the run's credentials), its passwords in files.

Every database container the harness makes comes from here: the matrix's cells, the
initialised images, the crash campaigns, `upgrade-check`, and the tests' own servers.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import TypedDict, Unpack

from testcontainers.core.container import DockerContainer

from harness.containers.engine import Engine, Session, sdk_mounts
from harness.containers.managed import ManagedContainer, configure, spec_of
from harness.containers.secrets import secret_files
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DatabaseProfile
from harness.model.spec import ContainerSpec, Mount


@contextlib.contextmanager
def database_container(  # noqa: PLR0917 - what `docker run` of a database takes
    engine: Engine,
    session: Session,
    image: str,
    profile: DatabaseProfile,
    creds: Credentials,
    extra_env: Mapping[str, str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    mounts: tuple[Mount, ...] = (),
) -> Iterator[DockerContainer]:
    """An unstarted testcontainers container of `image` initialised for `creds` as the official
    image's contract says (or with exactly `env`), plus `extra_env` and `mounts`. Its passwords
    are in read-only files (`*_FILE`), never in its environment; the files' volume is removed
    afterwards (remove the container first)."""
    init_env = {**(profile.init_env(creds) if env is None else env), **(extra_env or {})}
    with secret_files(engine, session, image, init_env, profile.password_variables) as (
        file_env,
        secret_mounts,
    ):
        container = DockerContainer(image, env=file_env)
        spec = ContainerSpec(image, mounts=(*mounts, *secret_mounts))
        container.with_kwargs(mounts=sdk_mounts(spec))
        yield container


def start_database(
    engine: Engine, session: Session, container: DockerContainer, profile: DatabaseProfile
) -> ManagedContainer:
    """Start a container of `database_container` outside a deployment (tests, experiments):
    with the session's labels, its port published where the engine is reached."""
    spec = spec_of(container)
    spec = dataclasses.replace(
        spec, ports=(profile.port,), labels={**spec.labels, **session.labels}
    )
    return ManagedContainer.start(
        configure(container, spec, engine, publish=(profile.port,)), engine, spec
    )


class DatabaseOptions(TypedDict, total=False):
    """What `database_container` takes beyond the image, the database and the credentials."""

    extra_env: Mapping[str, str] | None
    env: Mapping[str, str] | None
    mounts: tuple[Mount, ...]


@contextlib.contextmanager
def running_database(
    engine: Engine,
    session: Session,
    image: str,
    profile: DatabaseProfile,
    creds: Credentials,
    **options: Unpack[DatabaseOptions],
) -> Iterator[ManagedContainer]:
    """`database_container` (same options), started outside a deployment (tests, experiments);
    removed after with its anonymous volumes (a named volume in `mounts` stays: the caller's)."""
    with database_container(engine, session, image, profile, creds, **options) as container:
        server = start_database(engine, session, container, profile)
        try:
            yield server
        finally:
            server.remove(volumes=True)
