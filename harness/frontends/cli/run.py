"""`python -m harness run`: the persistence matrix (or the crash campaigns) outside pytest."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine
from harness.containers.engine_watch import EngineWatch, return_limit, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.engines.catalogue import (
    ENGINE_LABEL,
    HOST,
    OFFERS,
    SWARM,
    connect_engine,
    engine_environment,
    require_loaded,
    require_loaded_on_every_node,
)
from harness.engines.swarm import SwarmCluster
from harness.errors import UsageError
from harness.frontends.cli.common import (
    add_image_options,
    add_report_options,
    image_choices,
    shard_of,
)
from harness.frontends.cli.durability import (
    check_durability_usage,
    durability_plans,
    run_durability,
)
from harness.frontends.cli.progress import ProgressBar
from harness.frontends.options import (
    REUSE_INIT_OPTION,
    chosen_databases,
    database_option,
    reuse_init,
)
from harness.frontends.reports.comparison import (
    EngineRun,
    engines_html,
    engines_report,
    engines_summary,
)
from harness.frontends.reports.json_report import write_json
from harness.frontends.reports.shards import matrix_block
from harness.frontends.reports.terminal import render
from harness.images.availability import require_present
from harness.images.sources import (
    UpgradeImages,
    describe_choices,
    no_next_version,
    with_upgrade_images,
)
from harness.model.cells import (
    COMPOSE_MATRIX,
    MATRICES,
    RUN_MATRIX,
    SWARM_MATRIX,
    Cell,
    MatrixAxes,
    ScenarioResult,
    matrix,
)
from harness.model.durability import DEFAULT_ROUNDS, DEFAULT_SEED
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.shards import shard_option
from harness.persistence.compose_scenario import run_compose_cell
from harness.persistence.initialised import InitialisedImages, databases_to_reuse
from harness.persistence.scenario import run_scenario, without_verdict
from harness.persistence.swarm_scenario import run_swarm_cell

SWARM_CELLS = matrix(kind=SWARM_MATRIX)  # a cell's index here chooses its node and port


def _outcome_label(result: ScenarioResult) -> str:
    if result.error:
        return "no verdict"
    observed = result.observed.value if result.observed else "?"
    return f"{observed} ({'as promised' if result.passed else 'NOT as promised'})"


def cmd_run(args: argparse.Namespace) -> int:
    """The persistence matrix outside pytest: progress, tables, optional JSON and HTML; on
    several engines (`--engine`), each engine's and where they differ."""
    if args.durability:
        check_durability_usage(args)
    axes = _matrix_axes(args)
    shard = shard_option(args.shard)
    return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT is said before any work
    names = list(dict.fromkeys(args.engine or [SWARM if args.swarm else HOST]))
    _check_usage(args, names)
    on_node = shard.index if shard else None  # the swarm: the shard's own node
    engine = connect_engine(names[0], on_node)
    source, choices = image_choices(args, engine, ask_registry=False)
    chosen = [c for c in choices if c.database in chosen_databases(args.database, os.environ)]
    wanted = {c.database: c.ref for c in chosen}
    print(describe_choices(source, chosen), flush=True)
    databases = tuple(d for d in DATABASES if d in wanted)
    if args.durability:
        require_present(engine, chosen)
        return run_durability(args, engine, wanted, durability_plans(args, databases))
    cells = _selected_cells(axes, args, databases)
    upgrades = {c.database: upgrade for c in chosen if (upgrade := c.upgrade())}
    cells = _runnable(cells, upgrades, wanted)
    total = len(cells)
    if shard:
        cells = shard.take(cells)
        print(f"shard {shard}: {len(cells)} of the {total} cells", flush=True)
    if any(cell.upgrades for cell in cells):
        chosen = with_upgrade_images(chosen)
    served = [c for c in cells if c.starts_from_image]  # what an initialised image can serve
    reuse = databases_to_reuse(reuse_init(args.reuse_init, os.environ), served)
    runs: list[EngineRun] = []
    for name in names:
        if runs:
            engine = connect_engine(name, on_node)
        if name == HOST:
            require_present(engine, chosen)
        elif name == SWARM:
            require_loaded_on_every_node([c.ref for c in chosen])
        else:
            require_loaded(engine, name, [c.ref for c in chosen])
        with _swarm_for(cells) as swarm, engine_environment(name, on_node):
            results = _run_matrix(engine, cells, wanted, upgrades, name, reuse=reuse, swarm=swarm)
        runs.append(EngineRun(name, engine.info, wanted, results))
    _show(runs)
    block = matrix_block(shard, runs, len(cells), total) if shard else None
    _write_reports(args, runs, block)
    return 0 if all(r.passed for run in runs for r in run.results) else 1


def _write_reports(
    args: argparse.Namespace, runs: list[EngineRun], shard_block: dict[str, Any] | None
) -> None:
    """JSON and HTML when asked for; a shard's JSON carries its `shard` block for `merge`."""
    if args.json:
        report = engines_report(runs)
        if shard_block:
            report["shard"] = shard_block
        write_json(args.json, report)
        print(f"JSON report: {args.json}")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(engines_html(runs))
        print(f"HTML report: {args.html}")


def _check_usage(args: argparse.Namespace, names: list[str]) -> None:
    if args.swarm and (args.compose or args.durability or names != [SWARM]):
        raise UsageError(
            "--swarm runs the swarm matrix on the swarm alone; drop --compose, --durability "
            "and --engine."
        )
    if args.durability and names != [HOST]:
        raise UsageError("--durability runs on the host engine only; drop --engine.")
    if args.durability and args.shard:
        raise UsageError("--shard splits the matrix; run the crash campaigns without it.")
    shard_of(args)


# How to reach one matrix from another's options, for the message when a name is in another.
_SWITCHES = {
    RUN_MATRIX: {COMPOSE_MATRIX: "with --compose", SWARM_MATRIX: "with --swarm"},
    COMPOSE_MATRIX: {RUN_MATRIX: "without --compose", SWARM_MATRIX: "with --swarm"},
    SWARM_MATRIX: {RUN_MATRIX: "without --swarm", COMPOSE_MATRIX: "with --compose"},
}


def _matrix_axes(args: argparse.Namespace) -> MatrixAxes:
    """The chosen matrix; a storage mode or action it does not have is a usage error."""
    axes = MATRICES[COMPOSE_MATRIX if args.compose else SWARM_MATRIX if args.swarm else RUN_MATRIX]
    for option, asked, known in (
        ("--storage", args.storage, axes.storages),
        ("--action", args.action, axes.actions),
    ):
        unknown = [name for name in asked or [] if name not in known]
        if unknown:
            elsewhere = [
                other.name
                for other in MATRICES.values()
                if unknown[0] in (other.storages if option == "--storage" else other.actions)
            ]
            switch = f" (it is {_SWITCHES[axes.name][elsewhere[0]]})" if elsewhere else ""
            raise UsageError(
                f"{option} {unknown[0]} is not in the {axes.title}{switch}; choose from "
                f"{', '.join(known)}."
            )
    return axes


def _selected_cells(
    axes: MatrixAxes, args: argparse.Namespace, databases: tuple[str, ...]
) -> list[Cell]:
    """The matrix's cells in the table's order, whatever order the options came in (no option
    means all)."""
    return matrix(
        databases,
        tuple(s for s in axes.storages if s in (args.storage or axes.storages)),
        tuple(a for a in axes.actions if a in (args.action or axes.actions)),
        axes.name,
    )


def _runnable(
    cells: list[Cell], upgrades: dict[str, UpgradeImages], images: dict[str, str]
) -> list[Cell]:
    """The cells that can run: an upgrade cell needs its database's next version."""
    for database in sorted({c.database for c in cells if c.upgrades}):
        if database not in upgrades:
            print(f"skipping {database}'s upgrade cells: {no_next_version(images[database])}")
    return [c for c in cells if not c.upgrades or c.database in upgrades]


def _run_matrix(
    engine: Engine,
    cells: list[Cell],
    images: dict[str, str],
    upgrades: dict[str, UpgradeImages],
    name: str,
    *,
    reuse: frozenset[str],
    swarm: SwarmCluster | None = None,
) -> list[ScenarioResult]:
    session = start_run(engine)
    creds = Credentials.random()
    initialised = InitialisedImages(creds, reuse)
    bar = ProgressBar(len(cells))
    label = "" if name == HOST else f"{name} "
    results: list[ScenarioResult] = []
    compose = _compose_for(engine, cells)
    watch = EngineWatch(engine, say_on_stderr, return_limit(os.environ))
    try:
        for cell in cells:
            bar.starting(label + cell.id)
            upgrade = upgrades.get(cell.database)
            gone = watch.before_cell()
            if gone:
                result = without_verdict(engine, cell, upgrade, gone)
            elif cell.matrix == RUN_MATRIX:
                image = images[cell.database]
                result = run_scenario(engine, session, cell, image, creds, upgrade, initialised)
            elif cell.matrix == SWARM_MATRIX:
                assert swarm is not None  # connected whenever a swarm cell is chosen
                result = run_swarm_cell(swarm, session, cell, images[cell.database],
                                        SWARM_CELLS.index(cell), creds)  # fmt: skip
            else:
                assert compose is not None  # made whenever a compose cell is chosen
                result = run_compose_cell(
                    engine, session.scoped(cell.id), cell, images[cell.database],
                    compose, creds, upgrade if cell.upgrades else None, initialised,
                )  # fmt: skip
            results.append(result)
            bar.finished(label + cell.id, _outcome_label(result))
    finally:
        # After a wait that ended without the engine, no second wait at the end.
        end_run_or_say(engine, session, say_on_stderr, watch.wait_at_end)
    return results


@contextlib.contextmanager
def _swarm_for(cells: list[Cell]) -> Iterator[SwarmCluster | None]:
    """The swarm's nodes, connected, when a swarm cell is chosen. Made before DOCKER_HOST
    names the swarm's manager for the run: the nodes are found on the host engine."""
    if all(c.matrix != SWARM_MATRIX for c in cells):
        yield None
        return
    host = Engine.connect()
    cluster = SwarmCluster.connect(host, f"{ENGINE_LABEL}={SWARM}")
    try:
        yield cluster
    finally:
        cluster.close()
        host.close()


def _compose_for(engine: Engine, cells: list[Cell]) -> Compose | None:
    """The Compose CLI bound to `engine` when a compose cell is chosen (its version read, so a
    missing or broken binary stops the run before the first cell)."""
    if all(c.matrix != COMPOSE_MATRIX for c in cells):
        return None
    compose = Compose(compose_binary(), engine.docker_host)
    compose.version()
    return compose


def _show(runs: list[EngineRun]) -> None:
    for line in engines_summary(runs):
        print(render(line, colour=sys.stdout.isatty()))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


# The option that chooses each matrix, for help texts.
_MATRIX_SWITCH = {RUN_MATRIX: "", COMPOSE_MATRIX: "with --compose", SWARM_MATRIX: "with --swarm"}


def _per_matrix(axis: str) -> str:
    """Every matrix's names on one axis ("storages" or "actions"), for `--storage`/`--action`."""
    return "; ".join(
        f"{_MATRIX_SWITCH[axes.name] or 'the run matrix'}: {', '.join(getattr(axes, axis))}"
        for axes in MATRICES.values()
    )


def add_run_command(commands: Any) -> None:
    run = commands.add_parser("run", help="run the persistence matrix (or part of it)")
    database_option("database").add_to(run.add_argument)
    run.add_argument(
        "--compose",
        action="store_true",
        help="the compose matrix instead: compose's own storage declarations and actions "
        "(docs/compose.md)",
    )
    run.add_argument(
        "--swarm",
        action="store_true",
        help="the swarm matrix instead: a database service on the swarm `engines up swarm` "
        "brought up, through swarm actions (docs/clusters.md)",
    )
    run.add_argument(
        "--storage",
        action="append",
        metavar="MODE",
        help="repeatable; default all of the chosen matrix's: " + _per_matrix("storages"),
    )
    run.add_argument(
        "--action",
        action="append",
        metavar="NAME",
        help="repeatable; default all of the chosen matrix's: " + _per_matrix("actions"),
    )
    add_report_options(run, "the chosen cells", html="the HTML grid")
    run.add_argument(
        "--engine",
        action="append",
        metavar="NAME",
        help=f"repeatable: {HOST} (DOCKER_HOST or the default socket) or an engine brought up "
        f"with `engines up` ({', '.join(n for n in OFFERS if n != SWARM)}; the swarm's matrix: "
        "--swarm); several write a comparison too. Default: host",
    )
    crash = run.add_argument_group("crash durability")
    crash.add_argument(
        "--durability",
        action="store_true",
        help="instead of the matrix: SIGKILL the server while writers commit, and count lost "
        "acknowledged writes (--storage narrows to named or bind; --action does not apply)",
    )
    crash.add_argument(
        "--rounds",
        type=_positive,
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"kill rounds per campaign (default {DEFAULT_ROUNDS})",
    )
    crash.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the kill moments (the same seed plans the same rounds)",
    )
    add_image_options(run)
    REUSE_INIT_OPTION.add_to(run.add_argument)
    run.set_defaults(handler=cmd_run, database=None, storage=None, action=None)
