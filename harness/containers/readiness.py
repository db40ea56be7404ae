"""Readiness: a real query as the application user; the container inspected on the first
attempt, then once a second."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from harness.containers.retry import Backoff, GiveUp, RetryExhausted, retry
from harness.errors import NotReady
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DatabaseProfile
from harness.model.servers.persons import DbConnection, MissingData

# A server answers 0.3 to 3 s after its start; doubling waits up to 1 s saw one ready at 0.8 s
# only at 1.5 s. An attempt is a connect (and an inspect once a second), so waits stay short.
READY_BACKOFF = Backoff(attempts=1000, deadline_seconds=90.0, first_wait=0.05, max_wait=0.2)
LOG_TAIL_LINES = 30
INSPECT_EVERY_SECONDS = 1.0


class RunningServer(Protocol):
    """A database container as readiness sees it: a container the harness started, or a
    compose service's."""

    @property
    def name(self) -> str: ...
    def endpoint(self, port: int, *, fresh: bool = True) -> tuple[str, int]:
        """Where `port` is reachable; `fresh=False`: from the inspect `state()` just made."""
        ...

    def state(self) -> Mapping[str, Any]: ...
    def logs(self, tail: int) -> str: ...


def describe_exit(container: RunningServer, hidden: tuple[str, ...]) -> str:
    """Status, exit code and the log tail, passwords redacted: for error messages."""
    state = container.state()
    logs = container.logs(LOG_TAIL_LINES)
    memory = ", killed by the kernel for memory (OOM)" if state.get("OOMKilled") else ""
    return redact(
        f"status {state.get('Status')}, exit code {state.get('ExitCode')}{memory}; last log "
        "lines:\n" + "\n".join("  | " + line for line in logs.splitlines()),
        hidden,
    )


class AnotherRun(Exception):
    """The container stopped or started again around a connection: the connection may have
    reached whatever held its address or port meanwhile."""


def ensure_same_run(container: RunningServer, started_at: object) -> None:
    """Prove a connection just made reached `container`'s server: it must still run the run
    (`StartedAt`) it ran when inspected before the connection was made.

    An engine hands a stopped container's address to the next container it starts at once
    (Docker did so within a second: a read-back reached another cell's server, which accepted
    the credentials a run's cells share). A container that ran without a break from before the
    connection until after it held its address and port all that time, so the connection is its
    own."""
    state = container.state()
    if state.get("Status") != "running" or state.get("StartedAt") != started_at:
        raise AnotherRun(
            f"container {container.name} did not run throughout the connection "
            f"(now {state.get('Status')})"
        )


def connect_to_run(  # noqa: PLR0917 - a server, how, as whom, where, which run
    container: RunningServer,
    profile: DatabaseProfile,
    creds: Credentials,
    timeout: float,
    where: tuple[str, int],
    started_at: object,
) -> DbConnection:
    """A connection to `where`, proven by `ensure_same_run` to be `container`'s server in the run
    that started at `started_at` (both read by the inspect before); closed if it is not."""
    host, port = where
    connection = profile.connect(host, port, creds, timeout)
    try:
        ensure_same_run(container, started_at)
    except Exception:
        connection.close()
        raise
    return connection


def wait_until_ready(
    container: RunningServer,
    profile: DatabaseProfile,
    creds: Credentials,
    backoff: Backoff = READY_BACKOFF,
) -> DbConnection:
    """A connection as the application user to the application database, once it answers.

    A real query as that user proves what a client needs: `SELECT 1` as root would pass while
    the entrypoint's temporary server is still creating the user and the database.
    """

    looked: list[Any] = []  # [when, (host, port), StartedAt] of the last inspect

    def attempt() -> DbConnection:
        # Connecting is cheap; inspecting costs the engine. The container is inspected on the
        # first attempt (a start may publish a new port) and then once a second, which is
        # how soon a server that exited is noticed (an attempt every 0.2 s inspected ~15
        # times per start, most of a cell's API calls).
        if not looked or time.monotonic() - looked[0] >= INSPECT_EVERY_SECONDS:
            state = container.state()
            if state.get("Status") in ("exited", "dead"):
                raise GiveUp
            where = container.endpoint(profile.port, fresh=False)
            looked[:] = [time.monotonic(), where, state.get("StartedAt")]
        try:
            connection = connect_to_run(container, profile, creds, 5.0, looked[1], looked[2])
        except AnotherRun:
            looked.clear()  # inspect afresh: the server may have exited meanwhile
            raise
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
