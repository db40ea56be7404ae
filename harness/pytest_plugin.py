"""The pytest plugin: options, markers, and the session-wide engine, images and cleanup.

Registered through the `pytest11` entry point, so it is active wherever the package is installed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from harness.credentials import Credentials
from harness.databases import DATABASES
from harness.engine import Engine, EngineInfo, Session, sweep
from harness.errors import HarnessError
from harness.images import (
    DATABASE_IMAGES,
    ImageSource,
    describe_choices,
    override_option,
    require_present,
    resolve_source,
    select_images,
)
from harness.report import LEGEND, dangling_lines, matrix_tables, summary_line, to_json, write_json
from harness.scenario import Cell, ScenarioResult, matrix, run_scenario
from harness.signals import cleanup_on_terminate

MARKERS = {
    "persistence": "a database persistence scenario (database x storage x action)",
    **{name: f"runs the {name} server" for name in DATABASES},
    "layers": "image layer experiments (exp1-exp4 of the classroom notes)",
    "volumes": "docker volume subcommands and shared volumes",
    "durability": "acknowledged commits survive a crash (kill) of the server",
    "grading": "lab specs and student submissions become points",
    "engine": "needs a running container engine (Docker or Podman)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence harness")
    group.addoption(
        "--images",
        choices=[s.value for s in ImageSource],
        default=None,
        help="image source: official, local or auto (default: $HARNESS_IMAGES or auto); "
        "tests never pull: with auto, an official image counts only when already present",
    )
    for database in DATABASE_IMAGES:
        group.addoption(
            override_option(database), default=None, metavar="REF", help=f"image for {database}"
        )
    group.addoption(
        "--layers-base",
        default=None,
        metavar="IMAGE",
        help="base image for the layer experiments (default: the harness's local Debian base; "
        "alpine works where it is present)",
    )
    group.addoption(
        "--harness-report",
        default=None,
        metavar="PATH",
        help="write the persistence results as JSON to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    # A CI job that times out sends SIGTERM; teardown must still remove what the run made.
    cleanup_on_terminate()
    # Only the main process reports; pytest-xdist workers hand their results to it.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultCollector(config), "harness-results")


def exit_on(error: HarnessError) -> NoReturn:
    """Stop the whole run with the error's one sentence (an environment problem, not a test)."""
    pytest.exit(f"harness: {error}", returncode=error.exit_code)


@pytest.fixture(scope="session")
def harness_engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """The connected container engine; the run stops with one sentence if none answers."""
    try:
        engine = Engine.connect()
    except HarnessError as error:
        exit_on(error)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def harness_session(pytestconfig: pytest.Config, harness_engine: Engine) -> Iterator[Session]:
    """This run's labels; at the end, whatever still carries them is removed."""
    session = Session.new()
    yield session
    sweep(harness_engine, session)


@pytest.fixture
def harness_test_session(
    request: pytest.FixtureRequest, harness_engine: Engine, harness_session: Session
) -> Iterator[Session]:
    """This run's labels narrowed to one test; what the test made is removed after it."""
    scope = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    session = harness_session.scoped(scope)
    yield session
    sweep(harness_engine, session)


@pytest.fixture(scope="session")
def harness_images(pytestconfig: pytest.Config, harness_engine: Engine) -> dict[str, str]:
    """Image ref per database. Override this fixture to pin your own images."""
    try:
        source = resolve_source(pytestconfig.getoption("--images"), os.environ)
        overrides = {db: pytestconfig.getoption(override_option(db)) for db in DATABASE_IMAGES}
        choices = select_images(harness_engine, source, overrides, ask_registry=False)
        require_present(harness_engine, choices)
    except HarnessError as error:
        exit_on(error)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(describe_choices(source, choices))
    return {c.database: c.ref for c in choices}


@pytest.fixture(scope="session")
def harness_credentials() -> Credentials:
    """Random credentials for this run, reused on every recreate."""
    return Credentials.random()


RESULT_PROPERTY = "harness.result"
RUN_PROPERTY = "harness.run"


@pytest.fixture
def run_persistence_cell(
    request: pytest.FixtureRequest,
    harness_engine: Engine,
    harness_session: Session,
    harness_images: dict[str, str],
    harness_credentials: Credentials,
) -> Callable[[Cell], ScenarioResult]:
    """Runs one matrix cell against the real engine and records it for the summary/report.

    The result travels in the test report's user properties, so the summary and the JSON report
    see every cell also when pytest-xdist runs them in other processes.
    """

    def run(cell: Cell) -> ScenarioResult:
        result = run_scenario(
            harness_engine,
            harness_session,
            cell,
            harness_images[cell.database],
            harness_credentials,
        )
        info = harness_engine.info
        engine = {"name": info.name, "version": info.version, "api_version": info.api_version}
        request.node.user_properties.append(
            (RUN_PROPERTY, {"engine": engine, "images": harness_images})
        )
        request.node.user_properties.append((RESULT_PROPERTY, result.to_record()))
        return result

    return run


# Actions that test more than persistence: kill-start is a crash, so it also proves durability.
ACTION_MARKERS = {"kill-start": "durability"}


def matrix_params(cells: list[Cell] | None = None) -> list[Any]:
    """Cells as pytest params: id `<database>-<storage>-<action>`, marked with the database
    (and `durability` for the crash action)."""
    params = []
    for cell in matrix() if cells is None else cells:
        names = [cell.database, *filter(None, [ACTION_MARKERS.get(cell.action)])]
        marks = [getattr(pytest.mark, name) for name in names]
        params.append(pytest.param(cell, id=cell.id, marks=marks))
    return params


class ResultCollector:
    """Gathers matrix results from test reports; prints the tables and writes the report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[ScenarioResult] = []
        self.run: dict[str, Any] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                self.results.append(ScenarioResult.from_record(value))  # type: ignore[arg-type]
                # Parallel workers finish in any order; reports follow the table's.
                self.results.sort(key=lambda r: r.cell.sort_key())
            elif name == RUN_PROPERTY:
                self.run = dict(value)  # type: ignore[call-overload]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.results:
            return
        for database, lines in matrix_tables(self.results).items():
            terminalreporter.write_sep("=", f"persistence matrix: {database}")
            for line in lines:
                terminalreporter.write_line(line, red="FAIL" in line or "ERROR" in line)
        terminalreporter.write_line(LEGEND)
        terminalreporter.write_line(summary_line(self.results))
        dangling = dangling_lines(self.results)
        if dangling:
            terminalreporter.write_sep("-", "dangling anonymous volumes the scenarios produced")
            for line in dangling:
                terminalreporter.write_line(line)
            terminalreporter.write_line(
                "(on disk, seen by no container; the harness removed them after reporting)"
            )

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("--harness-report")
        if not path or not self.run:
            return
        engine = EngineInfo(**self.run["engine"])
        write_json(Path(path), to_json(engine, self.run["images"], self.results))
