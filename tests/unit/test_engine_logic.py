"""Engine identity, session labels and ownership, without an engine."""

from __future__ import annotations

import os
import socket
from typing import Any

import docker.errors
import pytest
import requests

from harness.containers.engine import (
    OWNER_LABEL,
    SCOPE_LABEL,
    SESSION_LABEL,
    EngineInfo,
    Session,
    engine_target,
    identify,
    owner_is_alive,
    prune_after_others,
)
from harness.model.servers.credentials import REDACTED, Credentials, redact


def test_identify_docker() -> None:
    """A Docker /version answer gives name, version and API version."""
    info = identify({"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "Components": []})
    assert info == EngineInfo("docker", "20.10.24+dfsg1", "1.41")


def test_identify_podman() -> None:
    """Podman names itself among the components."""
    info = identify(
        {"Version": "4.3.1", "ApiVersion": "1.41", "Components": [{"Name": "Podman Engine"}]}
    )
    assert info.name == "podman"


def test_api_comparison_is_numeric() -> None:
    """1.41 < 1.42 < 1.100 as versions, not strings."""
    assert EngineInfo("docker", "x", "1.42").api_at_least("1.41")
    assert not EngineInfo("docker", "x", "1.41").api_at_least("1.42")
    assert EngineInfo("docker", "x", "1.100").api_at_least("1.42")


def test_engine_target_names_docker_host() -> None:
    """Messages name DOCKER_HOST when set, the default socket otherwise."""
    assert engine_target({"DOCKER_HOST": "tcp://x:2375"}) == "DOCKER_HOST=tcp://x:2375"
    assert "default socket" in engine_target({})


def test_session_labels_carry_contract_label() -> None:
    """Every resource gets harness.session=<id>, plus owner and, when scoped, scope."""
    session = Session.new()
    assert session.labels[SESSION_LABEL] == session.id
    assert OWNER_LABEL in session.labels
    scoped = session.scoped("abc")
    assert scoped.labels[SESSION_LABEL] == session.id
    assert scoped.labels[SCOPE_LABEL] == f"{session.id}/abc"


def test_a_session_or_scope_is_found_by_one_label_filter() -> None:
    """One filter each: Podman 4.3 matches volumes with *any* of several label filters, so a
    scope's sweep or prune given [session, scope] took every volume of the run."""
    session = Session.new()
    assert session.label_filters == [f"{SESSION_LABEL}={session.id}"]
    scoped = session.scoped("mysql-named-prune-recreate")
    assert scoped.label_filters == [f"{SCOPE_LABEL}={session.id}/mysql-named-prune-recreate"]
    assert Session.new().scoped("mysql-named-prune-recreate").label_filters != scoped.label_filters


def test_own_process_is_alive_and_other_host_is_not() -> None:
    """clean spares live owners on this host only."""
    assert owner_is_alive(f"{socket.gethostname()}:{os.getpid()}")
    assert not owner_is_alive(f"elsewhere-{socket.gethostname()}:{os.getpid()}")
    assert not owner_is_alive("garbage")


def test_redact_hides_every_secret() -> None:
    """Passwords never reach output."""
    creds = Credentials.random()
    text = f"user harness password {creds.password} root {creds.root_password}"
    hidden = redact(text, creds.secrets)
    assert creds.password not in hidden
    assert creds.root_password not in hidden
    assert hidden.count(REDACTED) == 2


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        # The official mysql/mariadb images' entrypoints with *_RANDOM_ROOT_PASSWORD.
        ("2026-12-07 14:00:01+00:00 [Note] [Entrypoint]: GENERATED ROOT PASSWORD: "
         "Ab3$x_Zq9&kk", "Ab3$x_Zq9&kk"),
        ("GENERATED ROOT PASSWORD:  `;Wq.7vPz)", "`;Wq.7vPz)"),
        # mysqld --initialize (not --initialize-insecure).
        ("2026-12-07T14:00:02.1Z 6 [Note] [MY-010454] [Server] A temporary password is "
         "generated for root@localhost: k;8Ql>rUwd#e", "k;8Ql>rUwd#e"),
    ],
)  # fmt: skip
def test_redact_hides_a_password_the_server_printed(line: str, secret: str) -> None:
    """A password no run knew (the server made it) is masked wherever a log is quoted, the rest
    of the line kept for the reader."""
    log = f"starting\n{line}\nready for connections\n"
    hidden = redact(log, ())
    assert secret not in hidden
    assert REDACTED in hidden
    assert "starting" in hidden
    assert "ready for connections" in hidden


def test_redact_keeps_lines_that_only_mention_passwords() -> None:
    """Words about passwords are not secrets: the server's refusals stay readable."""
    line = 'FATAL: password authentication failed for user "harness"'
    assert redact(line, ()) == line


def test_credentials_repr_hides_passwords() -> None:
    """A credentials object in a traceback or log shows no password."""
    creds = Credentials.random()
    assert creds.password not in repr(creds)
    assert creds.root_password not in repr(creds)


def _api_error(status: int, text: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(text, response=response, explanation=text)


def test_a_prune_waits_while_the_engine_runs_another() -> None:
    """Docker answers 409 to a second concurrent prune; the harness's prune waits its turn."""
    answers: list[Exception | dict[str, Any]] = [
        _api_error(409, "a prune operation is already running"),
        _api_error(409, "a prune operation is already running"),
        {"VolumesDeleted": ["v1"]},
    ]

    def prune() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waits: list[float] = []
    assert prune_after_others(prune, sleep=waits.append) == {"VolumesDeleted": ["v1"]}
    assert len(waits) == 2


def test_a_prune_error_other_than_busy_is_raised_at_once() -> None:
    calls = []

    def prune() -> dict[str, Any]:
        calls.append(1)
        raise _api_error(500, "boom")

    with pytest.raises(docker.errors.APIError, match="boom"):
        prune_after_others(prune, sleep=lambda _s: None)
    assert len(calls) == 1
