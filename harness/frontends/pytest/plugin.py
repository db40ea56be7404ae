"""The pytest plugin: options, markers, preflight, the session-wide engine, images and cleanup.

Registered through the `pytest11` entry point, so pytest loads it in every run of the
environment: at import it pulls in only pure values and the option definitions. The engine,
testcontainers and the drivers load when a test first asks for a harness fixture.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from harness.errors import HarnessError
from harness.frontends.options import (
    IMAGE_OPTIONS,
    REUSE_INIT_OPTION,
    ImageRequest,
    chosen_databases,
    database_option,
    reuse_init,
)
from harness.frontends.pytest.shared import ShareWithWorkers, from_controller
from harness.frontends.pytest.stash import (
    CAMPAIGNS_KEY,
    CELLS_KEY,
    RESULTS_KEY,
    RUN_KEY,
    SHARD_KEY,
    record_result,
)
from harness.frontends.reports.comparison import EngineRun, engines_report, engines_summary
from harness.frontends.reports.durability import durability_summary
from harness.frontends.reports.json_report import to_json, write_json
from harness.frontends.reports.shards import matrix_block
from harness.frontends.reports.terminal import LineKind
from harness.frontends.signals import cleanup_on_terminate
from harness.model.cells import Cell, ScenarioResult, matrix
from harness.model.durability import Campaign
from harness.model.engine_info import EngineInfo
from harness.model.platforms.actions import ACTIONS
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.shards import Shard, shard_option

if TYPE_CHECKING:
    from harness.containers.engine import Engine, Session
    from harness.frontends.pytest.engines import EnginePool
    from harness.images.sources import ImageChoice, UpgradeImages
    from harness.persistence.initialised import InitialisedImages

# The plugin's parts, each a plugin of its own with its options, hooks and fixtures; pytest
# registers them with this one. This module imports them only inside functions: a part
# imported before pytest registers it would miss pytest's assertion rewriting.
pytest_plugins = (
    "harness.frontends.pytest.durability",
    "harness.frontends.pytest.engines",
    "harness.frontends.pytest.grading",
)

MARKERS = {
    "persistence": "a database persistence scenario (database x storage x action)",
    **{name: f"runs the {name} server" for name in DATABASES},
    "layers": "image layer experiments (exp1-exp4 of the classroom notes)",
    "volumes": "docker volume subcommands and shared volumes",
    "durability": "acknowledged commits survive a crash (kill) of the server",
    "compose": "the compose matrix: a compose project's storage through compose's actions",
    "swarm": "the swarm matrix: a service's storage through swarm actions, node by node",
    "grading": "lab specs and student submissions become points",
    "faults": "the engine, a server or the disk fails mid-run: no false verdict, reports kept",
    "engine": "needs a running container engine (Docker or Podman)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence harness")
    for option in IMAGE_OPTIONS:
        option.add_to(group.addoption)
    REUSE_INIT_OPTION.add_to(group.addoption)
    database_option("harness_databases").add_to(group.addoption)
    group.addoption(
        "--layers-base",
        default=None,
        metavar="IMAGE",
        help="base image for the layer experiments (default: the harness's local Debian base; "
        "alpine works where it is present)",
    )
    group.addoption(
        "--shard",
        dest="harness_shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N equal parts of the selected tests (one per machine; "
        "`python -m harness merge` puts their --harness-report files together)",
    )
    group.addoption(
        "--persistence-matrix",
        action="store_true",
        default=False,
        help="collect the harness's own matrices (docker run, compose, swarm; choose with -m "
        "persistence, -m compose, -m swarm), in any directory: the cells of the checkout's "
        "scenarios/",
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
    _collect_the_matrices(config)
    # Only the main process reports; pytest-xdist workers hand their results to it. It also
    # gives every worker the same credentials and initialised images.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultCollector(config), "harness-results")
        config.pluginmanager.register(ShareWithWorkers(), "harness-share-with-workers")


def _collect_the_matrices(config: pytest.Config) -> None:
    """`--persistence-matrix`: the package's matrix folder joins what pytest collects. Without
    paths on the command line they replace the default (the current directory, `testpaths`): the
    user asked for the matrix, not for this directory's tests. An xdist worker is handed the
    controller's paths, already extended, so nothing is added twice."""
    if not config.getoption("persistence_matrix"):
        return
    from harness.frontends.pytest.matrix import MATRIX_FOLDER  # noqa: PLC0415 - a path only

    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(MATRIX_FOLDER)]
    elif str(MATRIX_FOLDER) not in config.args:
        config.args.append(str(MATRIX_FOLDER))


def exit_on(error: HarnessError) -> NoReturn:
    """Stop the whole run with the error's one sentence (an environment problem, not a test)."""
    pytest.exit(f"harness: {error}", returncode=error.exit_code)


# --- preflight: no engine or missing images end the run before any test, in one sentence ---


def _needs(items: list[pytest.Item], fixture: str) -> bool:
    return any(fixture in getattr(item, "fixturenames", ()) for item in items)


def preflight(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Connect to the engine (and find the images) when a selected test will need them."""
    if _needs(items, "harness_initialised_images"):
        reuse_init(config.getoption("reuse_init"), os.environ)  # a bad value: one sentence
    if not _needs(items, "harness_engine"):
        return
    from harness.containers.engine import Engine  # noqa: PLC0415 - only when needed
    from harness.containers.engine_watch import return_limit  # noqa: PLC0415

    return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT: one sentence before any test
    from harness.images.availability import require_present, select_images  # noqa: PLC0415
    from harness.images.sources import with_upgrade_images  # noqa: PLC0415

    engine = Engine.connect()
    try:
        if _needs(items, "harness_images"):
            request = ImageRequest.read(config.getoption, os.environ)
            choices = _of_chosen(config, select_images(engine, request, ask_registry=False))
            if any(_upgrades(item) for item in items):
                choices = with_upgrade_images(choices)
            require_present(engine, choices)
            if _needs(items, "harness_engine_name"):
                from harness.frontends.pytest.engines import check_named_engines  # noqa: PLC0415

                check_named_engines(config, [c.ref for c in choices])
            if _needs(items, "swarm_cluster") and "swarm" in (config.getoption("markexpr") or ""):
                # `-m swarm` without a swarm: one sentence here, where a worker can say it (a
                # fixture's exit would read as crashed workers under xdist); a run of the whole
                # suite skips the swarm cells instead.
                from harness.engines.catalogue import require_loaded_on_every_node  # noqa: PLC0415

                require_loaded_on_every_node([c.ref for c in choices])
    finally:
        engine.close()


def _databases(config: pytest.Config) -> tuple[str, ...]:
    """The databases this run checks (`--database`, HARNESS_DATABASES, else the default two)."""
    return chosen_databases(config.getoption("harness_databases"), os.environ)


def _of_chosen(config: pytest.Config, choices: list[ImageChoice]) -> list[ImageChoice]:
    return [c for c in choices if c.database in _databases(config)]


def _deselect_other_databases(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the tests marked with a database this run does not check (MariaDB's, by default)."""
    chosen = set(_databases(config))
    others = set(DATABASES) - chosen

    def elsewhere(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(name) for name in others)

    dropped = [item for item in items if elsewhere(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not elsewhere(item)]


def _cell_of(item: pytest.Item) -> Cell | None:
    """The matrix cell an item runs, if it is one."""
    cell = getattr(item, "callspec", None) and item.callspec.params.get("cell")  # type: ignore[attr-defined]
    return cell if isinstance(cell, Cell) else None


def _upgrades(item: pytest.Item) -> bool:
    """Whether the item is a matrix cell of the upgrade action (it needs a second image)."""
    cell = _cell_of(item)
    return cell is not None and cell.upgrades


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Preflight after selection. In a pytest-xdist worker, `pytest.exit` would read as a crashed
    worker on the controller; the worker instead runs nothing and stops the session with the
    sentence, which the controller prints as the reason it stopped (exit code 2)."""
    try:
        shard = shard_option(config.getoption("harness_shard"))
        _deselect_other_databases(config, items)
    except HarnessError as error:
        _stop(session, config, items, error)
        return
    if shard:
        _take_shard(config, shard, items)
    # The matrix cells an initialised image can serve (what `--reuse-init auto` counts).
    config.stash[CELLS_KEY] = [
        cell for item in items if (cell := _cell_of(item)) and cell.starts_from_image
    ]
    if _needs(items, "harness_engine"):
        # Only in a run that selected tests using the engine (the plugin loads in every run of
        # the environment): a CI job that times out sends SIGTERM, and teardown must still
        # remove what the run made.
        cleanup_on_terminate()
    try:
        preflight(config, items)
    except HarnessError as error:
        _stop(session, config, items, error)


def _stop(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item], error: HarnessError
) -> None:
    if not hasattr(config, "workerinput"):
        exit_on(error)
    config.hook.pytest_deselected(items=list(items))
    items[:] = []
    session.shouldstop = f"harness: {error}"


def _take_shard(config: pytest.Config, shard: Shard, items: list[pytest.Item]) -> None:
    """Keep the shard's part of the selection (every worker of a shard keeps the same part);
    remember how many matrix cells it and the whole run were given, for the report's block."""
    total = sum(_cell_of(item) is not None for item in items)
    keep = shard.take(items)
    kept = {id(item) for item in keep}
    config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
    items[:] = keep
    assigned = sum(_cell_of(item) is not None for item in keep)
    config.stash[SHARD_KEY] = [shard.index, shard.count, assigned, total]


# --- fixtures ---


@pytest.fixture(scope="session")
def harness_engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """The connected container engine; the run stops with one sentence if none answers."""
    from harness.containers.engine import Engine  # noqa: PLC0415 - heavy, only when used

    try:
        engine = Engine.connect()
    except HarnessError as error:
        exit_on(error)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def harness_session(pytestconfig: pytest.Config, harness_engine: Engine) -> Iterator[Session]:
    """This run's labels; at the end, whatever still carries them is removed."""
    from harness.containers.engine_watch import return_limit  # noqa: PLC0415
    from harness.containers.run_state import end_run_or_say, start_run  # noqa: PLC0415
    from harness.frontends.pytest.engines import HOST_WAIT_AT_END, say_to  # noqa: PLC0415

    session = start_run(harness_engine)
    yield session
    # An engine gone at the end adds no failure to the run: its results stand; `clean` later.
    wait = pytestconfig.stash.get(HOST_WAIT_AT_END, None)
    wait = return_limit(os.environ) if wait is None else wait
    end_run_or_say(harness_engine, session, say_to(pytestconfig), wait)


@pytest.fixture
def harness_test_session(
    request: pytest.FixtureRequest, harness_engine: Engine, harness_session: Session
) -> Iterator[Session]:
    """This run's labels narrowed to one test; what the test made is removed after it."""
    from harness.containers.engine import sweep  # noqa: PLC0415

    scope = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    session = harness_session.scoped(scope)
    yield session
    sweep(harness_engine, session)


@pytest.fixture(scope="session")
def harness_image_choices(pytestconfig: pytest.Config, harness_engine: Engine) -> list[ImageChoice]:
    """The image chosen per database (source, version, origin), present on the engine."""
    from harness.images.availability import require_present, select_images  # noqa: PLC0415
    from harness.images.sources import describe_choices  # noqa: PLC0415

    try:
        request = ImageRequest.read(pytestconfig.getoption, os.environ)
        choices = _of_chosen(
            pytestconfig, select_images(harness_engine, request, ask_registry=False)
        )
        require_present(harness_engine, choices)
    except HarnessError as error:
        exit_on(error)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(describe_choices(request.source, choices))
    return choices


@pytest.fixture(scope="session")
def harness_images(harness_image_choices: list[ImageChoice]) -> dict[str, str]:
    """Image ref per database. Override this fixture to pin your own images."""
    return {c.database: c.ref for c in harness_image_choices}


@pytest.fixture(scope="session")
def harness_upgrades(harness_image_choices: list[ImageChoice]) -> dict[str, UpgradeImages]:
    """Per database, the two images of its upgrade step (a database whose image has none, such
    as an image of your own, is absent: its upgrade cells are skipped)."""
    upgrades = {c.database: c.upgrade() for c in harness_image_choices}
    return {database: upgrade for database, upgrade in upgrades.items() if upgrade}


@pytest.fixture(scope="session")
def harness_credentials(pytestconfig: pytest.Config) -> Credentials:
    """Random credentials for this run (every pytest-xdist worker's the same), reused on every
    recreate."""
    shared = from_controller(pytestconfig)
    return shared.creds if shared else Credentials.random()


@pytest.fixture(scope="session")
def harness_initialised_images(
    pytestconfig: pytest.Config, harness_credentials: Credentials
) -> InitialisedImages:
    """The run's initialised images (made on first use), for the databases `--reuse-init` and
    the selected cells call for."""
    from harness.persistence.initialised import (  # noqa: PLC0415 - heavy, only when used
        InitialisedImages,
        databases_to_reuse,
    )

    try:
        mode = reuse_init(pytestconfig.getoption("reuse_init"), os.environ)
    except HarnessError as error:
        exit_on(error)
    cells: list[Cell] = pytestconfig.stash.get(CELLS_KEY, [])
    databases = databases_to_reuse(mode, cells)
    # Shared only while the credentials are the controller's (a suite may override them).
    shared = from_controller(pytestconfig)
    run = shared.run if shared and shared.creds == harness_credentials else None
    return InitialisedImages(harness_credentials, databases, run)


@pytest.fixture
def run_persistence_cell(  # noqa: PLR0917 - pytest passes fixtures by name
    request: pytest.FixtureRequest,
    harness_engine_name: str,
    harness_engine_pool: EnginePool,
    harness_images: dict[str, str],
    harness_upgrades: dict[str, UpgradeImages],
    harness_credentials: Credentials,
    harness_initialised_images: InitialisedImages,
) -> Callable[[Cell], ScenarioResult]:
    """Runs one matrix cell against the real engine (the `--engine` one) and records it for
    the summary/report. An upgrade cell is skipped when its image has no next version."""
    from harness.frontends.pytest.engines import engine_for, engine_names  # noqa: PLC0415
    from harness.images.sources import no_next_version  # noqa: PLC0415
    from harness.persistence.scenario import run_scenario, without_verdict  # noqa: PLC0415

    named = bool(engine_names(request.config))

    def run(cell: Cell) -> ScenarioResult:
        upgrade = harness_upgrades.get(cell.database)
        if ACTIONS[cell.action].upgrades and upgrade is None:
            pytest.skip(no_next_version(harness_images[cell.database]))
        engine, session = engine_for(harness_engine_pool, harness_engine_name)
        gone = harness_engine_pool.ready(harness_engine_name)
        if gone:
            result = without_verdict(engine, cell, upgrade, gone)
        else:
            with harness_engine_pool.environment(harness_engine_name):
                result = run_scenario(
                    engine,
                    session,
                    cell,
                    harness_images[cell.database],
                    harness_credentials,
                    upgrade,
                    harness_initialised_images,
                )
        as_name = harness_engine_name if named else None
        record_result(request.node, engine, harness_images, result, as_name)
        return result

    return run


@pytest.fixture
def persistence_check(
    request: pytest.FixtureRequest, harness_engine: Engine, harness_test_session: Session
) -> Callable[..., ScenarioResult]:
    """`check_persistence` as a fixture: same keywords, on this run's engine; everything it made
    is removed when the test ends (and its results join the summary and the JSON report)."""
    from harness.persistence.byo import check_persistence  # noqa: PLC0415

    def check(
        container: Any,
        *,
        storage: str,
        action: str,
        database: str | None = None,
        upgrade_to: str | None = None,
    ) -> ScenarioResult:
        result = check_persistence(
            container,
            storage=storage,
            action=action,
            database=database,
            upgrade_to=upgrade_to,
            engine=harness_engine,
            session=harness_test_session,
        )
        record_result(request.node, harness_engine, {result.cell.database: container.image}, result)
        return result

    return check


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Results ride on the test report as attributes: pytest-xdist carries those to the
    controller, and unlike user properties they stay out of JUnit XML."""
    report = yield
    if call.when != "call":
        return report
    if SHARD_KEY in item.config.stash:
        report.harness_shard = item.config.stash[SHARD_KEY]  # type: ignore[attr-defined]
    if RESULTS_KEY in item.stash:
        report.harness_results = [r.to_record() for r in item.stash[RESULTS_KEY]]  # type: ignore[attr-defined]
    if CAMPAIGNS_KEY in item.stash:
        report.harness_durability = [c.to_record() for c in item.stash[CAMPAIGNS_KEY]]  # type: ignore[attr-defined]
    if RUN_KEY in item.stash:
        report.harness_run = item.stash[RUN_KEY]  # type: ignore[attr-defined]
    return report


class ResultCollector:
    """Gathers results from test reports; prints the summary and writes the report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        # Per engine (HOST unless `--engine` named others), in the table's order.
        self.results: dict[str, list[ScenarioResult]] = {}
        self.campaigns: list[Campaign] = []
        self.runs: dict[str, dict[str, Any]] = {}
        # [K, N, cells given to this shard, cells in the whole run] under --shard.
        self.shard: list[int] | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.shard = getattr(report, "harness_shard", None) or self.shard
        run = dict(getattr(report, "harness_run", None) or {})
        if run:
            # Under pytest-xdist this is the controller, which collects no items: the first
            # harness result says the run uses the engine, and a SIGTERM must then still run
            # its teardown (it removes the initialised images the workers share).
            cleanup_on_terminate()
        from harness.frontends.pytest.engines import HOST  # noqa: PLC0415 - a registered part

        name = run.pop("as", HOST)
        records = getattr(report, "harness_results", None) or []
        results = self.results.setdefault(name, []) if records else []
        results += [ScenarioResult.from_record(record) for record in records]
        # Parallel workers finish in any order; reports follow the table's.
        results.sort(key=lambda r: r.cell.sort_key())
        campaigns = getattr(report, "harness_durability", None) or []
        self.campaigns += [Campaign.from_record(record) for record in campaigns]
        self.campaigns.sort(key=lambda c: c.id)
        if not run:
            return
        known = self.runs.get(name, {})
        images = {**known.get("images", {}), **run.get("images", {})}
        self.runs[name] = {**run, "images": images}

    def engine_runs(self) -> list[EngineRun]:
        """Each engine's results, in `--engine` order (the host's alone without it)."""
        from harness.frontends.pytest.engines import HOST, engine_names  # noqa: PLC0415

        order = engine_names(self.config) or [HOST]
        # Cells that run on an engine of their own whatever `--engine` says (the swarm's).
        order += [name for name in self.runs if name not in order]
        return [
            EngineRun(
                name,
                EngineInfo(**self.runs[name]["engine"]),
                self.runs[name]["images"],
                self.results.get(name, []),
            )
            for name in order
            if name in self.runs
        ]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        runs = [run for run in self.engine_runs() if run.results]
        lines = engines_summary(runs) if runs else []
        for line in lines + durability_summary(self.campaigns):
            if line.kind is LineKind.HEADING:
                terminalreporter.write_sep("=", line.text)
                continue
            for text, colour in line.pieces():
                terminalreporter.write(text, **({colour: True} if colour else {}))
            terminalreporter.line("")

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("--harness-report")
        runs = self.engine_runs()
        if not path or not runs:
            return
        durability = [c.to_record() for c in self.campaigns]
        if len(runs) == 1:
            run = runs[0]
            report = to_json(run.info, run.images, run.results, durability)
        else:
            report = engines_report(runs)
            if durability:  # crash campaigns run on the host's engine
                report["durability"] = durability
        if self.shard:
            index, count, assigned, total = self.shard
            report["shard"] = matrix_block(Shard(index, count), runs, assigned, total)
        write_json(Path(path), report)
