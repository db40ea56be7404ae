"""`pytest -m persistence --engine NAME ...`: the matrix on each engine named.

Without `--engine` nothing changes: cells run on the engine DOCKER_HOST names. With it, each
matrix cell runs once per engine (`host` is DOCKER_HOST's; the others are those `python -m harness
engines up` brought up), its test id starting with the engine's name (`podman-mysql-named-restart`).
The summary shows each engine's table and where they differ, and `--harness-report` writes
`{"engines": [...], "differences": [...]}` when there are several. Other tests (layers, volumes,
durability) stay on the host's engine.

A plugin the harness's pytest plugin registers; light at import (engines connect when a cell
first needs one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from harness.errors import HarnessError, ImageMissing

if TYPE_CHECKING:
    from harness.containers.engine import Engine, Session
    from harness.containers.engine_watch import EngineWatch

HOST = "host"  # as harness.engines.catalogue names it (not imported: it pulls in the engines)
HOST_WAIT_AT_END = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence harness")
    group.addoption(
        "--engine",
        action="append",
        default=None,
        metavar="NAME",
        help="run the persistence matrix on this engine (repeatable: host, docker-26, podman; "
        "see `python -m harness engines`)",
    )


def engine_names(config: pytest.Config) -> list[str]:
    """The engines asked for, each once, in the order given; none: the host's alone."""
    return list(dict.fromkeys(config.getoption("--engine") or []))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = engine_names(metafunc.config)
    if names and "harness_engine_name" in metafunc.fixturenames:
        metafunc.parametrize("harness_engine_name", names, ids=names)


@pytest.fixture
def harness_engine_name() -> str:
    """The engine a matrix cell runs on (parametrized by `--engine`)."""
    return HOST


@dataclass
class EnginePool:
    """The engines a run's cells use, each with its own session, connected on first use."""

    host: Engine
    host_session: Session
    images: dict[str, str]
    engines: dict[str, tuple[Engine, Session]] = field(default_factory=dict)
    # Said while waiting for an engine that went away (the terminal, else stderr).
    show: Callable[[str], None] = print
    wait_limit: float = 180.0
    watches: dict[str, EngineWatch] = field(default_factory=dict)
    shard_index: int | None = None  # under --shard K/N: the swarm's engine is its K-th node

    def ready(self, name: str) -> str:
        """ "" when the engine answers (waited for, bounded, if it went away); else why the next
        cell on it gets no verdict."""
        from harness.containers.engine_watch import EngineWatch  # noqa: PLC0415 - heavy

        engine, _ = self.get(name)
        if name not in self.watches:
            self.watches[name] = EngineWatch(engine, self.show, self.wait_limit)
        return self.watches[name].before_cell()

    def get(self, name: str) -> tuple[Engine, Session]:
        if name == HOST:
            return self.host, self.host_session
        if name not in self.engines:
            from harness.containers.run_state import start_run  # noqa: PLC0415 - heavy
            from harness.engines.catalogue import connect_engine, require_loaded  # noqa: PLC0415

            engine = connect_engine(name, self.shard_index)
            try:
                require_loaded(engine, name, self.images.values())
            except ImageMissing:
                engine.close()
                raise
            self.engines[name] = (engine, start_run(engine))
        return self.engines[name]

    def environment(self, name: str) -> AbstractContextManager[None]:
        from harness.engines.catalogue import engine_environment  # noqa: PLC0415

        return engine_environment(name, self.shard_index)

    def wait_at_end(self, name: str) -> float:
        """How long the cleanup of `name` may wait for it: not again once its watch gave up."""
        watch = self.watches.get(name)
        return watch.wait_at_end if watch else self.wait_limit

    def close(self) -> None:
        from harness.containers.run_state import end_run_or_say  # noqa: PLC0415

        for name, (engine, session) in self.engines.items():
            end_run_or_say(engine, session, self.show, self.wait_at_end(name))
            engine.close()


@pytest.fixture(scope="session")
def harness_engine_pool(
    pytestconfig: pytest.Config,
    harness_engine: Engine,
    harness_session: Session,
    harness_images: dict[str, str],
) -> Iterator[EnginePool]:
    from harness.containers.engine_watch import return_limit  # noqa: PLC0415 - heavy

    pool = EnginePool(harness_engine, harness_session, harness_images)
    pool.shard_index = shard_index(pytestconfig)
    pool.show = say_to(pytestconfig)
    pool.wait_limit = return_limit(os.environ)  # its value was checked before any test
    yield pool
    pool.close()
    # The host's run ends in `harness_session`, after this: it waits no more than the pool did.
    pytestconfig.stash[HOST_WAIT_AT_END] = pool.wait_at_end(HOST)


def shard_index(config: pytest.Config) -> int | None:
    """K of `--shard K/N`, else None."""
    from harness.model.shards import shard_option  # noqa: PLC0415

    shard = shard_option(config.getoption("harness_shard", None))
    return shard.index if shard else None


def check_named_engines(config: pytest.Config, image_refs: list[str]) -> None:
    """Before any test (the plugin's preflight): every `--engine` is known, answers and holds
    the run's images, or the run stops with one sentence, in one process and under xdist."""
    from harness.engines.catalogue import connect_engine, require_loaded  # noqa: PLC0415

    for name in engine_names(config):
        if name == HOST:
            continue
        engine = connect_engine(name, shard_index(config))
        try:
            require_loaded(engine, name, image_refs)
        finally:
            engine.close()


def engine_for(pool: EnginePool, name: str) -> tuple[Engine, Session]:
    """The named engine, or the run stops with why (one sentence, exit code 2); preflight
    normally said so before any test."""
    try:
        return pool.get(name)
    except HarnessError as error:
        pytest.exit(f"harness: {error}", returncode=error.exit_code)


def say_to(config: pytest.Config) -> Callable[[str], None]:
    """Lines for the user during a run: the terminal, past pytest's capture of the test that
    is running (a worker of pytest-xdist has no terminal: its stderr)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        if reporter is None:
            from harness.containers.engine_watch import say_on_stderr  # noqa: PLC0415 - heavy

            say_on_stderr(line)
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"harness: {line}")

    return say
