"""Whose clock an engine's events are stamped with (no engine: the address decides)."""

from __future__ import annotations

import docker
import pytest

from harness.containers.engine import Engine
from harness.model.engine_info import EngineInfo
from harness.persistence.fault_causes import shares_this_clock


def _engine(docker_host: str | None) -> Engine:
    client = docker.DockerClient(base_url="unix:///nowhere", version="1.41")
    return Engine(client, EngineInfo("docker", "20.10", "1.41"), "t", docker_host)


@pytest.mark.parametrize(
    ("docker_host", "same"),
    [
        (None, True),  # the default socket
        ("unix:///run/podman/podman.sock", True),
        ("tcp://127.0.0.3:2375", True),  # docker-in-docker on this kernel
        ("tcp://localhost:2375", True),
        ("tcp://10.0.0.7:2376", False),  # another machine: its clock may be skewed
        ("ssh://ci@builder", False),
    ],
)
def test_only_an_engine_on_this_kernel_has_its_events_judged(
    docker_host: str | None, same: bool
) -> None:
    assert shares_this_clock(_engine(docker_host)) is same
