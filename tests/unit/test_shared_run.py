"""One run, several processes: pytest-xdist's workers get their controller's credentials and
one shared run, and a shared image is made once however many workers ask for it."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.containers.engine import Engine, Session
from harness.frontends.pytest.shared import ShareWithWorkers, from_controller
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.persistence import initialised
from harness.persistence.initialised import InitialisedImages, SharedRun


def test_every_worker_gets_the_controllers_credentials_and_run() -> None:
    controller = ShareWithWorkers()
    nodes = [SimpleNamespace(workerinput={}) for _ in range(2)]
    try:
        for node in nodes:
            controller.pytest_configure_node(node)
        given = [from_controller(cast(pytest.Config, node)) for node in nodes]
        assert controller.run is not None
        for shared in given:
            assert shared is not None
            assert shared.creds == controller.creds
            assert shared.run == controller.run
        assert controller.run.directory.is_dir()
    finally:
        controller.pytest_unconfigure()  # no image was made: nothing to connect to
    assert not controller.run.directory.exists()


def test_without_a_controller_nothing_is_shared() -> None:
    """One process (no pytest-xdist): no shared credentials or run, so it draws its own."""
    assert from_controller(cast(pytest.Config, SimpleNamespace())) is None


class FakeEngine:
    """Just what the once-per-run logic asks of an engine: where it is, what images it has."""

    def __init__(self, docker_host: str | None = None) -> None:
        self.base_url = f"http+docker://{docker_host or 'localhost'}"
        self.docker_host = docker_host
        self.images: set[str] = set()

    def has_image(self, ref: str) -> bool:
        return ref in self.images


def test_a_shared_image_is_made_once_for_every_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two workers (two InitialisedImages on one shared run) ask for the same images: each is
    made once, under the controller's session, and both get its name."""
    made: list[tuple[str, Session]] = []

    def make(engine: Any, session: Session, image: str, profile: Any, creds: Any) -> str:
        ref = initialised.image_name(profile.name, session, image, in_layer=False)
        made.append((ref, session))
        engine.images.add(ref)
        return ref

    monkeypatch.setattr(initialised, "build_volume_image", make)
    monkeypatch.setattr(initialised, "commit_layer_image", make)
    shared = SharedRun(Session("c0ffee00", "host:1"), tmp_path)
    creds = Credentials.random()
    workers = [InitialisedImages(creds, shared=shared) for _ in range(2)]
    engine = cast(Engine, FakeEngine())
    refs = {
        worker.image_for(engine, Session(f"worker{n}"), "img:1", DATABASES["postgres"], mode)
        for n, worker in enumerate(workers)
        for mode in (STORAGE_MODES["named"], STORAGE_MODES["anonymous"])
    }
    assert len(made) == 1
    assert refs == {made[0][0]}
    assert made[0][1] == shared.session
    assert shared.engines() == [None]


def test_the_engines_images_were_made_on_are_recorded(tmp_path: Path) -> None:
    shared = SharedRun(Session("c0ffee00", "host:1"), tmp_path)
    for host in (None, "tcp://127.0.0.1:2375", None):
        shared.record_engine(cast(Engine, FakeEngine(host)))
    assert sorted(shared.engines(), key=str) == [None, "tcp://127.0.0.1:2375"]


def _hold(directory: str, log: str) -> None:
    shared = SharedRun(Session("c0ffee00", "host:1"), Path(directory))
    with shared.lock(cast(Engine, FakeEngine()), "img:1"):
        with open(log, "a") as out:
            out.write(f"{time.monotonic()} start\n")
        time.sleep(0.3)
        with open(log, "a") as out:
            out.write(f"{time.monotonic()} end\n")


def test_the_lock_lets_one_process_make_an_image_at_a_time(tmp_path: Path) -> None:
    log = tmp_path / "log"
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_hold, args=(str(tmp_path), str(log))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    lines = sorted(log.read_text().splitlines(), key=lambda line: float(line.split()[0]))
    events = [line.split()[1] for line in lines]
    assert events == ["start", "end"] * 3
