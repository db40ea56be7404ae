"""Running database containers: start them labelled, find their port, wait until they answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docker.models.containers import Container

from harness.credentials import Credentials, redact
from harness.databases import DatabaseProfile, DbConnection, MissingData
from harness.engine import Engine, Session
from harness.errors import NotReady
from harness.retry import Backoff, GiveUp, RetryExhausted, retry

READY_BACKOFF = Backoff(attempts=400, deadline_seconds=90.0, first_wait=0.1, max_wait=1.0)
LOG_TAIL_LINES = 30


def run_database(
    engine: Engine,
    session: Session,
    profile: DatabaseProfile,
    image: str,
    creds: Credentials,
    *,
    name: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
    **create_kwargs: Any,
) -> Container:
    """Start a database container, labelled, publishing its port on 127.0.0.1 only."""
    options: dict[str, Any] = {
        "command": command,
        "name": name,
        "environment": {**profile.init_env(creds), **(extra_env or {})},
        "labels": session.labels,
        # 127.0.0.1 only: a database with a known password must not face the network.
        "ports": {f"{profile.port}/tcp": ("127.0.0.1", None)},
        **create_kwargs,
    }
    return engine.client.containers.run(image, detach=True, **options)


def published_port(container: Container, port: int) -> int:
    """The host port published for `port`; read afresh, since it changes on every start."""
    container.reload()
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", ""):  # noqa: S104 - reading, not binding
            return int(binding["HostPort"])
    raise NotReady(f"Container {container.name} publishes no host port for {port}/tcp.")


def describe_exit(container: Container, hidden: tuple[str, ...]) -> str:
    """Status, exit code and the log tail, passwords redacted: for error messages."""
    container.reload()
    state = container.attrs["State"]
    logs = container.logs(tail=LOG_TAIL_LINES).decode(errors="replace")
    return redact(
        f"status {state.get('Status')}, exit code {state.get('ExitCode')}; last log lines:\n"
        + "\n".join("  | " + line for line in logs.splitlines()),
        hidden,
    )


def wait_until_ready(
    container: Container,
    profile: DatabaseProfile,
    creds: Credentials,
    backoff: Backoff = READY_BACKOFF,
) -> DbConnection:
    """A connection as the application user to the application database, once it answers.

    A real query as that user proves what a client needs: `SELECT 1` as root would pass while
    the entrypoint's temporary server is still creating the user and the database.
    """

    def attempt() -> DbConnection:
        container.reload()
        if container.status in ("exited", "dead"):
            raise GiveUp
        port = published_port(container, profile.port)
        try:
            connection = profile.connect("127.0.0.1", port, creds, 5.0)
        except Exception as error:
            # The entrypoint creates the database before the server listens on TCP, so a
            # server that answers "no such database" has none: an observation, not a wait.
            if profile.classify_missing(error) == "database":
                raise MissingData("database") from error
            raise
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
            connection.commit()
        except Exception:
            connection.close()
            raise
        return connection

    try:
        return retry(attempt, backoff, retry_on=(Exception,), give_up_on=(MissingData,))
    except GiveUp:
        raise NotReady(
            f"{profile.name} container {container.name} exited before it answered "
            f"({describe_exit(container, creds.secrets)}); fix the image or its settings."
        ) from None
    except RetryExhausted as exhausted:
        detail = redact(str(exhausted.last_error), creds.secrets)
        raise NotReady(
            f"{profile.name} container {container.name} did not answer as user {creds.user!r} "
            f"within {exhausted.seconds:.0f} s (last error: {detail}); "
            f"{describe_exit(container, creds.secrets)}"
        ) from None
