"""Engines under test beside the host's own: brought up from nothing, listed, taken down.

An engine that is up outlives the command that started it (so several runs can use it): its
container and volume carry `harness.engine=<name>` instead of a run's `harness.session`, and
only `engines down` removes them (a run's `clean` never does). The host engine and its images
are never touched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from harness.containers.engine import Engine
from harness.engines.dind import SecondEngine, connect_dind, load_images, start_dind, stop_dind
from harness.errors import EngineUnavailable, UsageError
from harness.images.build import Progress
from harness.images.recipes import DIND_DOCKER_26

ENGINE_LABEL = "harness.engine"
HOST = "host"


@dataclass(frozen=True)
class EngineOffer:
    """An engine the harness can bring up on this machine."""

    name: str
    description: str
    where: SecondEngine

    @property
    def container_name(self) -> str:
        return f"harness-engine-{self.name}"

    @property
    def labels(self) -> dict[str, str]:
        return {ENGINE_LABEL: self.name}

    @property
    def label(self) -> str:
        """The engine filter for what it made."""
        return f"{ENGINE_LABEL}={self.name}"


OFFERS: Mapping[str, EngineOffer] = {
    offer.name: offer
    for offer in (
        EngineOffer(
            "docker-26",
            "Debian trixie's docker.io 26 in a container (docker-in-docker)",
            SecondEngine(
                address="127.0.0.3",
                bridge="harness-d26",
                cidr="10.232.0.1/24",
                image=DIND_DOCKER_26,
            ),
        ),
    )
}


@dataclass(frozen=True)
class EngineState:
    name: str
    version: str
    api_version: str
    docker_host: str
    state: str  # "up", "down" (not started), "not answering"

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "api_version": self.api_version,
            "docker_host": self.docker_host,
            "state": self.state,
        }


def offer_named(name: str) -> EngineOffer:
    if name not in OFFERS:
        raise UsageError(
            f"{name!r} is not an engine the harness can bring up; use one of: {', '.join(OFFERS)}."
        )
    return OFFERS[name]


def engine_up(host: Engine, offer: EngineOffer, images: list[str], progress: Progress) -> Engine:
    """Bring `offer` up (or find it up) with `images` loaded; idempotent."""
    running = host.containers_labelled(offer.label, running_only=True)
    if running:
        service = running[0]
    else:
        engine_down(host, offer)  # a stopped or half-made one goes first
        service = start_dind(host, offer.where, offer.container_name, offer.labels, progress)
    remote = connect_dind(offer.where, service)
    load_images(host, remote, images, offer.name, progress)
    return remote


def engine_down(host: Engine, offer: EngineOffer) -> bool:
    """Remove the engine's container and volume; whether there was anything to remove."""
    found = False
    for service in host.containers_labelled(offer.label):
        stop_dind(host, service, offer.container_name)
        found = True
    for volume in host.volumes_labelled(offer.label):
        host.remove_volume(volume)
        found = True
    return found


@contextlib.contextmanager
def engine_environment(name: str) -> Iterator[None]:
    """Point DOCKER_HOST at the engine while its scenarios run: testcontainers reads it from the
    environment, both to create containers and to say where their ports are reached."""
    if name == HOST:
        yield
        return
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = offer_named(name).where.docker_host
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def connect_engine(name: str) -> Engine:
    """The host engine (`host`, from DOCKER_HOST or the default socket) or an engine that is up."""
    if name == HOST:
        return Engine.connect()
    offer = offer_named(name)
    try:
        return Engine.connect({**os.environ, "DOCKER_HOST": offer.where.docker_host})
    except EngineUnavailable:
        raise EngineUnavailable(
            f"Engine {name} does not answer at {offer.where.docker_host}; run "
            f"`python -m harness engines up {name}` first."
        ) from None


def engine_states(host: Engine) -> list[EngineState]:
    """The host engine and every engine the harness offers, up or not."""
    states = [
        EngineState(HOST, host.info.version, host.info.api_version, host.target, "up"),
    ]
    for offer in OFFERS.values():
        if not host.containers_labelled(offer.label, running_only=True):
            states.append(EngineState(offer.name, "", "", offer.where.docker_host, "down"))
            continue
        try:
            remote = connect_engine(offer.name)
        except EngineUnavailable:
            states.append(EngineState(offer.name, "", "", offer.where.docker_host, "not answering"))
            continue
        info = remote.info
        remote.close()
        states.append(
            EngineState(offer.name, info.version, info.api_version, offer.where.docker_host, "up")
        )
    return states
