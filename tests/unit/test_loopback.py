"""No TLS and no proxy lookups on loopback, where they cost CPU and protect nothing; TLS is
still tried towards anything else."""

from __future__ import annotations

from typing import Any

import pytest

from harness.model import loopback
from harness.model.loopback import on_this_machine, url_on_this_machine
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES


@pytest.fixture(autouse=True)
def no_bridge_found_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridges found to be this machine's are a process-wide memory: an integration test
    that ran a cell earlier in the same worker has filled it (docker0's 172.17.0.0/16 among
    them), which made these cases depend on the order xdist ran the tests in."""
    monkeypatch.setattr(loopback, "_LOCAL_BRIDGES", set())


@pytest.mark.parametrize(
    ("host", "local"),
    [("localhost", True), ("127.0.0.1", True), ("127.0.0.3", True), ("::1", True),
     ("10.0.0.5", False), ("172.17.0.2", False), ("db.example.org", False), ("", False)],
)  # fmt: skip
def test_only_loopback_is_on_this_machine(host: str, local: bool) -> None:
    assert on_this_machine(host) is local


@pytest.mark.parametrize(
    ("url", "local"),
    [("http+docker://localhost", True), ("http://127.0.0.3:2375", True),
     ("tcp://[::1]:2375", True), ("http://192.168.1.5:2375", False),
     ("https://docker.example.org:2376", False)],
)  # fmt: skip
def test_an_engine_url_on_this_machine(url: str, local: bool) -> None:
    assert url_on_this_machine(url) is local


@pytest.mark.parametrize(("host", "tls"), [("127.0.0.1", False), ("203.0.113.9", True)])
def test_the_drivers_skip_tls_on_loopback_only(
    host: str, tls: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg  # noqa: PLC0415
    import pymysql  # noqa: PLC0415

    seen: dict[str, dict[str, Any]] = {}
    monkeypatch.setattr(pymysql, "connect", lambda **kw: seen.setdefault("mysql", kw))
    monkeypatch.setattr(psycopg, "connect", lambda **kw: seen.setdefault("postgres", kw))
    creds = Credentials("app", "secret", "root-secret", "appdb")
    for database in DATABASES.values():
        database.connect(host, 3306, creds, 5.0)
    assert seen["mysql"]["ssl_disabled"] is not tls
    assert seen["postgres"]["sslmode"] == ("prefer" if tls else "disable")
