"""Reaching a container at its own address: when the harness may, which address it takes, and
that such an address counts as this machine's (no TLS towards it)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

import harness.containers.addressing as addressing_os
from harness.containers.addressing import compose_ports_entry, gateway_is_here, reachable_address
from harness.containers.engine import Engine
from harness.errors import HarnessError, UsageError
from harness.model import loopback
from harness.model.addressing import (
    ConnectMode,
    ContainerAddress,
    EngineHost,
    connect_mode,
    container_addresses,
    reaches_by_address,
)
from harness.model.loopback import loopback_publish_ip, on_this_machine

HERE = EngineHost(local=True, linux=True, engine_name="vm", hostname="vm", rootless=False)


@pytest.fixture(autouse=True)
def _no_bridges_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no bridge known to be this machine's, and leaves none behind."""
    monkeypatch.setattr(loopback, "_LOCAL_BRIDGES", set())
    monkeypatch.setattr(addressing_os, "_GATEWAYS_HERE", set())


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, ConnectMode.AUTO), ("", ConnectMode.AUTO), ("auto", ConnectMode.AUTO),
     ("address", ConnectMode.ADDRESS), ("Published", ConnectMode.PUBLISHED),
     (" published ", ConnectMode.PUBLISHED)],
)  # fmt: skip
def test_harness_connect_names_the_mode(value: str | None, mode: ConnectMode) -> None:
    environ = {} if value is None else {"HARNESS_CONNECT": value}
    assert connect_mode(environ) is mode


def test_an_unknown_harness_connect_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError) as raised:
        connect_mode({"HARNESS_CONNECT": "bridge"})
    assert str(raised.value) == (
        "HARNESS_CONNECT=bridge is not one of auto, address, published; unset it or pick one."
    )
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (HERE, True),
        (replace(HERE, local=False), False),  # a TCP engine, or testcontainers' host override
        (replace(HERE, linux=False), False),  # Docker Desktop: the socket leads into a VM
        (replace(HERE, rootless=True), False),  # the bridge is in the engine's own namespace
        (replace(HERE, engine_name="docker-desktop"), False),
        (replace(HERE, engine_name="runner-host"), False),  # a socket mounted into a job container
        (replace(HERE, engine_name="", hostname=""), False),  # the engine did not say
    ],
    ids=["this-machine", "tcp", "not-linux", "rootless", "vm", "other-host", "unnamed"],
)
def test_auto_reaches_by_address_only_an_engine_on_this_very_machine(
    host: EngineHost, expected: bool
) -> None:
    assert reaches_by_address(ConnectMode.AUTO, host) is expected


@pytest.mark.parametrize("host", [HERE, replace(HERE, rootless=True, local=False)])
def test_an_explicit_mode_wins_over_what_auto_would_decide(host: EngineHost) -> None:
    assert reaches_by_address(ConnectMode.ADDRESS, host) is True
    assert reaches_by_address(ConnectMode.PUBLISHED, host) is False


def test_rootless_and_name_are_read_from_the_engines_info() -> None:
    info = {"Name": "vm", "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]}
    host = EngineHost.from_info(info, local=True, linux=True, hostname="vm")
    assert host == replace(HERE, rootless=True)
    assert EngineHost.from_info({}, local=True, linux=True, hostname="vm").engine_name == ""


def _settings(*networks: tuple[str, str, str, int]) -> dict[str, Any]:
    return {
        "Ports": {"3306/tcp": None},
        "Networks": {
            name: {"IPAddress": address, "Gateway": gateway, "IPPrefixLen": prefix}
            for name, address, gateway, prefix in networks
        },
    }


def test_a_containers_addresses_come_in_the_engines_order_skipping_networks_without_one() -> None:
    settings = _settings(
        ("host", "", "", 0),
        ("project_default", "172.18.0.3", "172.18.0.1", 16),
        ("podman", "10.88.1.12", "10.88.0.1", 16),
    )
    assert container_addresses(settings) == [
        ContainerAddress("172.18.0.3", "172.18.0.1", 16),
        ContainerAddress("10.88.1.12", "10.88.0.1", 16),
    ]
    assert container_addresses({"Networks": None}) == []
    assert ContainerAddress("10.88.1.12", "10.88.0.1", 16).network == ipaddress.IPv4Network(
        "10.88.0.0/16"
    )


def test_a_gateway_is_here_only_when_this_machine_holds_the_address() -> None:
    assert gateway_is_here("127.0.0.1")
    assert not gateway_is_here("203.0.113.7")  # TEST-NET-3: nobody's address


def test_the_address_taken_is_on_the_first_network_whose_gateway_is_here() -> None:
    # 203.0.113.0/24's gateway is not this machine's (a VM's bridge, say); loopback's is.
    settings = _settings(
        ("vm", "203.0.113.5", "203.0.113.1", 24), ("here", "127.0.0.9", "127.0.0.1", 8)
    )
    assert not on_this_machine("203.0.113.5")
    assert reachable_address(settings, "db-1") == "127.0.0.9"
    assert not on_this_machine("203.0.113.5")  # the other network is not remembered


def test_the_address_taken_counts_as_this_machines_from_then_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """So the drivers skip TLS towards it, as towards loopback."""
    monkeypatch.setattr(addressing_os, "gateway_is_here", lambda gateway: gateway == "10.99.0.1")
    settings = _settings(("bridge", "10.99.0.5", "10.99.0.1", 24))
    assert not on_this_machine("10.99.0.5")
    assert reachable_address(settings, "db-1") == "10.99.0.5"
    assert on_this_machine("10.99.0.5")
    assert on_this_machine("10.99.0.200")  # another container of the same bridge


def test_a_container_address_on_a_bridge_of_this_machine_counts_as_this_machines() -> None:
    assert not on_this_machine("172.17.0.2")
    loopback.remember_local_bridge(ipaddress.IPv4Network("172.17.0.0/16"))
    assert on_this_machine("172.17.0.2")
    assert not on_this_machine("172.18.0.2")
    assert not on_this_machine("fe80::1")


def test_a_container_with_no_address_reachable_here_is_one_sentence_naming_the_remedy() -> None:
    settings = _settings(("vm", "203.0.113.5", "203.0.113.1", 24))
    with pytest.raises(HarnessError) as raised:
        reachable_address(settings, "db-1")
    assert str(raised.value) == (
        "Container db-1 has no address this machine reaches (no network of it has its gateway "
        "here); set HARNESS_CONNECT=published to reach it at a published port."
    )


class _Engine:
    def __init__(self, by_address: bool, publish_ip: str | None) -> None:
        self.reaches_by_address = by_address
        self.publish_ip = publish_ip


@pytest.mark.parametrize(
    ("by_address", "publish_ip", "entry"),
    [
        (True, "127.0.0.1", None),
        (False, "127.0.0.1", "127.0.0.1::5432"),
        (False, "127.0.0.2", "127.0.0.2::5432"),
        (False, None, "5432"),
    ],
)
def test_a_compose_service_publishes_nothing_when_reached_at_its_address(
    by_address: bool, publish_ip: str | None, entry: str | None
) -> None:
    engine = _Engine(by_address, publish_ip)
    assert compose_ports_entry(engine, 5432) == entry  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "publish_ip"),
    [
        ("http+docker://localhost", "127.0.0.1"),  # the SDK's name for a unix socket
        ("http://localhost:2375", "127.0.0.1"),
        ("http://127.0.0.1:40123", "127.0.0.1"),  # a TCP proxy to this machine's engine
        ("http://127.0.0.2:2375", "127.0.0.2"),  # an engine listening on another loopback
        ("http://10.233.0.11:2375", None),  # docker-in-docker on its own address
        ("https://docker.example.org:2376", None),  # a remote engine
        ("http://[::1]:2375", None),  # no `ports:` spelling: the engine's default
    ],
)
def test_ports_are_published_on_the_loopback_address_the_engine_is_reached_at(
    url: str, publish_ip: str | None
) -> None:
    assert loopback_publish_ip(url) == publish_ip


def test_a_testcontainers_host_override_leaves_publishing_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TC_HOST", "TESTCONTAINERS_HOST_OVERRIDE", "TESTCONTAINERS_CONNECTION_MODE"):
        monkeypatch.delenv(name, raising=False)  # the shell running the tests may set one
    api = SimpleNamespace(base_url="http+docker://localhost")
    engine = Engine(client=SimpleNamespace(api=api), info=None, target="t")  # type: ignore[arg-type]
    assert engine.publish_ip == "127.0.0.1"
    monkeypatch.setenv("TESTCONTAINERS_HOST_OVERRIDE", "10.0.0.5")
    assert engine.publish_ip is None
    assert not engine.is_local
