"""The locally built images honour the official images' contract."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.containers.database import running_database
from harness.containers.engine import Engine, Session
from harness.containers.managed import ManagedContainer
from harness.containers.readiness import wait_until_ready
from harness.containers.retry import Backoff
from harness.errors import NotReady
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.spec import Mount, MountKind

# The VOLUME of the official image of each default version (PostgreSQL 18's moved up a level).
OFFICIAL_VOLUME = {"mysql": "/var/lib/mysql", "postgres": "/var/lib/postgresql"}
SKIPPED_INIT = {
    "mysql": "Database directory appears to contain a database; Skipping initialization",
    "postgres": (
        "PostgreSQL Database directory appears to contain a database; Skipping initialization"
    ),
}
MISSING_PASSWORD = {
    "mysql": "Database is uninitialized and password option is not specified",
    "postgres": "Database is uninitialized and superuser password is not specified",
}
QUICK = Backoff(attempts=10, deadline_seconds=10.0)

pytestmark = pytest.mark.parametrize("database", ["mysql", "postgres"])


def _current_user_and_database(connection: object, profile: DatabaseProfile) -> tuple[str, str]:
    query = {
        "mysql": "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE()",
        "postgres": "SELECT current_user, current_database()",
    }[profile.name]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(query)
    user, database = cursor.fetchall()[0]
    cursor.close()
    return str(user), str(database)


@dataclass
class Bench:
    """One database's local image, started on named volumes of this test."""

    engine: Engine
    session: Session
    database: str
    image: str
    # Every server a test starts is removed when the test ends (the fixture closes it).
    servers: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    volumes_made: int = 0

    @property
    def profile(self) -> DatabaseProfile:
        return DATABASES[self.database]

    def new_volume(self) -> str:
        self.volumes_made += 1
        name = f"harness-{self.session.id}-{self.session.scope}-{self.volumes_made}"
        return self.engine.create_volume(name, self.session.labels)

    def mount(self, volume: str) -> Mount:
        return Mount(MountKind.VOLUME, volume, OFFICIAL_VOLUME[self.database])

    def start(
        self,
        creds: Credentials,
        volume: str | None = None,
        *,
        env: dict[str, str] | None = None,
        mounts: tuple[Mount, ...] = (),
    ) -> ManagedContainer:
        data = (self.mount(volume),) if volume else ()
        server = running_database(
            self.engine, self.session, self.image, self.profile, creds,
            env=env, mounts=(*data, *mounts),
        )  # fmt: skip
        return self.servers.enter_context(server)


@pytest.fixture
def bench(
    database: str,
    harness_engine: Engine,
    harness_test_session: Session,
    local_images: dict[str, str],
) -> Iterator[Bench]:
    bench = Bench(harness_engine, harness_test_session, database, local_images[database])
    with bench.servers:
        yield bench


def test_app_user_reaches_app_database_on_empty_named_volume(database: str, bench: Bench) -> None:
    """A fresh volume is initialised with the env's user, password and database."""
    creds = Credentials.random()
    volume = bench.new_volume()
    container = bench.start(creds, volume)
    connection = wait_until_ready(container, DATABASES[database], creds)
    try:
        assert _current_user_and_database(connection, DATABASES[database]) == (
            creds.user,
            creds.database,
        )
    finally:
        connection.close()


def test_initialised_volume_keeps_first_credentials_and_skips_init(
    database: str, bench: Bench
) -> None:
    """A second container given other passwords keeps the first ones and says it skipped init."""
    profile = DATABASES[database]
    first = Credentials.random()
    volume = bench.new_volume()
    container = bench.start(first, volume)
    wait_until_ready(container, profile, first).close()
    container.stop()
    container.remove(volumes=False)

    second = Credentials.random()
    assert second.password != first.password
    successor = bench.start(second, volume)
    wait_until_ready(successor, profile, first).close()
    with pytest.raises(NotReady):
        wait_until_ready(successor, profile, second, QUICK)
    assert SKIPPED_INIT[database] in successor.logs(tail=200)


def test_image_declares_volume_at_official_path(
    database: str, harness_engine: Engine, local_images: dict[str, str]
) -> None:
    """`VOLUME` covers the official data directory."""
    config = harness_engine.client.images.get(local_images[database]).attrs["Config"]
    assert OFFICIAL_VOLUME[database] in (config.get("Volumes") or {})


def test_server_runs_as_non_root_and_docker_stop_exits_zero(database: str, bench: Bench) -> None:
    """PID 1 is the server as its own user, and it shuts down cleanly on `docker stop`."""
    creds = Credentials.random()
    volume = bench.new_volume()
    container = bench.start(creds, volume)
    wait_until_ready(container, DATABASES[database], creds).close()
    status = container.wrapped.exec_run(["cat", "/proc/1/status"]).output.decode()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1] != "0"

    container.stop()
    # 137 would mean the grace period ran out and the engine killed the server.
    assert container.state()["ExitCode"] == 0


def test_missing_password_exits_non_zero_with_clear_log(database: str, bench: Bench) -> None:
    """Without a password setting, init refuses: a clear log line and a non-zero exit."""
    container = bench.start(Credentials.random(), env={})
    result = container.wrapped.wait(timeout=60)
    assert result["StatusCode"] != 0
    assert MISSING_PASSWORD[database] in container.logs(tail=200)


def test_password_file_variant_is_honoured(database: str, bench: Bench, tmp_path: Path) -> None:
    """`MYSQL_PASSWORD_FILE` / `POSTGRES_PASSWORD_FILE` set the password from a file."""
    profile = DATABASES[database]
    creds = Credentials.random()
    secret = tmp_path / "password"
    # A trailing newline, as editors write it, is not part of the password.
    secret.write_text(creds.password + "\n")
    secret.chmod(0o644)
    env = profile.init_env(creds)
    variable = "MYSQL_PASSWORD" if database == "mysql" else "POSTGRES_PASSWORD"
    del env[variable]
    env[f"{variable}_FILE"] = "/run/test-secrets/password"
    volume = bench.new_volume()
    # Not under /run/secrets, where the harness mounts its own password files.
    secret_mount = Mount(MountKind.BIND, str(secret), "/run/test-secrets/password", read_only=True)
    container = bench.start(creds, volume, env=env, mounts=(secret_mount,))
    connection = wait_until_ready(container, profile, creds)
    try:
        # The password came from the file: the application user is in, on its database.
        assert _current_user_and_database(connection, profile) == (creds.user, creds.database)
    finally:
        connection.close()
    # ... and only from the file: the container was given no plain password variable.
    configured = container.wrapped.attrs["Config"]["Env"]
    assert not any(item.startswith(f"{variable}=") for item in configured)
