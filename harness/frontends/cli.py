"""`python -m harness`: the command line (`python -m harness --help` lists its commands)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.containers.engine import IMAGE_LABEL, Engine
from harness.containers.run_state import clean_dead_runs, end_run, start_run
from harness.engines.catalogue import HOST, connect_engine, engine_environment, require_loaded
from harness.errors import HarnessError, ImageMissing, UsageError
from harness.frontends.comparison import EngineRun, engines_html, engines_report, engines_summary
from harness.frontends.durability_command import (
    check_durability_usage,
    durability_plans,
    run_durability,
)
from harness.frontends.engine_commands import add_engine_commands
from harness.frontends.grade_command import add_grade_command
from harness.frontends.image_commands import add_image_commands
from harness.frontends.options import IMAGE_OPTIONS, REUSE_INIT_OPTION, ImageRequest, reuse_init
from harness.frontends.progress import ProgressBar
from harness.frontends.report import render, write_json
from harness.frontends.signals import cleanup_on_terminate
from harness.frontends.upgrade_command import add_upgrade_command
from harness.images.availability import require_present, select_images
from harness.images.build import ensure_images
from harness.images.recipes import VERSION_IMAGES, LocalImage
from harness.images.sources import (
    ImageChoice,
    ImageSource,
    UpgradeImages,
    describe_choices,
    missing_images_error,
    no_next_version,
    with_upgrade_images,
)
from harness.model.actions import ACTION_NAMES, ACTIONS
from harness.model.cells import Cell, ScenarioResult, matrix
from harness.model.credentials import Credentials
from harness.model.databases import DATABASES
from harness.model.durability import DEFAULT_ROUNDS, DEFAULT_SEED
from harness.model.storage import STORAGE_NAMES
from harness.model.versions import VERSIONS
from harness.persistence.initialised import InitialisedImages, databases_to_reuse
from harness.persistence.scenario import run_scenario

Handler = Callable[[argparse.Namespace], int]


def _err(message: str) -> None:
    print(f"harness: {message}", file=sys.stderr)


def _add_image_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("images")
    for option in IMAGE_OPTIONS:
        option.add_to(group.add_argument)


def image_choices(
    args: argparse.Namespace, engine: Engine, *, ask_registry: bool
) -> tuple[ImageSource, list[ImageChoice]]:
    request = ImageRequest.read(lambda dest: getattr(args, dest), os.environ)
    choices = select_images(engine, request, ask_registry=ask_registry)
    return request.source, choices


def cmd_doctor(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    info = engine.info
    print(f"engine   {info.name} {info.version} (API {info.api_version}) at {engine.target}")
    source, choices = image_choices(args, engine, ask_registry=False)
    print(f"images   source {source.value}")
    missing = []
    for choice in choices:
        present = engine.has_image(choice.ref)
        if not present:
            missing.append(choice)
        state = "present" if present else "MISSING"
        print(f"  {choice.database:<9} {choice.ref:<40} {choice.origin:<9} {state}")
    if missing:
        print(f"next     {missing_images_error(missing)}")
        return 2
    print("next     ready: run `make persistence` (or `pytest -m persistence`)")
    return 0


def _progress_printer() -> Callable[[str], None]:
    started = time.monotonic()

    def show(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    return show


def local_recipe(choice: ImageChoice) -> LocalImage:
    """The recipe of a locally built choice (its version's image)."""
    assert choice.version is not None, "a local image always runs a known version"
    return VERSION_IMAGES[choice.database, choice.version.version]


def cmd_images_build(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    source, choices = image_choices(args, engine, ask_registry=True)
    print(describe_choices(source, choices), flush=True)
    progress = _progress_printer()
    # Each chosen version and the versions of its upgrade step: the matrix's upgrade cells.
    choices = with_upgrade_images(choices)
    local = [local_recipe(c) for c in choices if c.origin == "local"]
    for choice in choices:
        if choice.origin != "local" and not engine.has_image(choice.ref):
            progress(f"{choice.database}: pulling {choice.ref}")
            try:
                engine.pull(choice.ref)
            except Exception as error:  # the SDK's many kinds all mean "could not pull"
                raise ImageMissing(
                    f"Pulling {choice.ref} failed ({type(error).__name__}); check the registry "
                    "is reachable, or use --images local to build images here."
                ) from None
    for result in ensure_images(engine, local, progress) if local else []:
        print(result.summary())
    return 0


def cmd_images_list(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    source, choices = image_choices(args, engine, ask_registry=False)
    print(describe_choices(source, choices))
    chosen = {c.ref for c in choices}
    print("versions (--mysql-version / --postgres-version):")
    for version in VERSIONS:
        local = VERSION_IMAGES.get((version.database, version.version))
        for ref in filter(None, (local.ref if local else None, version.official_ref)):
            state = "present" if engine.has_image(ref) else "absent"
            mark = "  <- this run" if ref in chosen else ""
            print(f"  {version.database:<9} {version.label:<16} {ref:<40} {state}{mark}")
    print("local builds:")
    for _image_id, tags, _labels, size in engine.labelled_images(IMAGE_LABEL):
        print(f"  {', '.join(tags) or '<untagged>':<40} {size / 1e6:>7.0f} MB")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    report = clean_dead_runs(engine, spare_live=not args.all)
    print(f"removed {report}")
    if args.remove_images:
        removed, kept = 0, 0
        for image_id, _tags, _labels, _size in engine.labelled_images(IMAGE_LABEL):
            if engine.remove_image(image_id, force=True):
                removed += 1
            else:
                kept += 1  # a container still uses it
        in_use = f"; kept {kept} still used by containers" if kept else ""
        print(f"removed {removed} local image(s){in_use}")
    return 0


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
    names = list(dict.fromkeys(args.engine or [HOST]))
    if args.durability and names != [HOST]:
        raise UsageError("--durability runs on the host engine only; drop --engine.")
    engine = connect_engine(names[0])
    source, choices = image_choices(args, engine, ask_registry=False)
    chosen = [c for c in choices if c.database in (args.database or DATABASES)]
    wanted = {c.database: c.ref for c in chosen}
    print(describe_choices(source, chosen), flush=True)
    databases = tuple(d for d in DATABASES if d in wanted)
    if args.durability:
        require_present(engine, chosen)
        return run_durability(args, engine, wanted, durability_plans(args, databases))
    # The table's order, whatever order the options came in; no option means all.
    cells = matrix(
        databases,
        tuple(s for s in STORAGE_NAMES if s in (args.storage or STORAGE_NAMES)),
        tuple(a for a in ACTION_NAMES if a in (args.action or ACTION_NAMES)),
    )
    upgrades = {c.database: upgrade for c in chosen if (upgrade := c.upgrade())}
    cells = _runnable(cells, upgrades, wanted)
    if any(ACTIONS[cell.action].upgrades for cell in cells):
        chosen = with_upgrade_images(chosen)
    reuse = databases_to_reuse(reuse_init(args.reuse_init, os.environ), cells)
    runs: list[EngineRun] = []
    for name in names:
        if runs:
            engine = connect_engine(name)
        if name == HOST:
            require_present(engine, chosen)
        else:
            require_loaded(engine, name, [c.ref for c in chosen])
        with engine_environment(name):
            results = _run_matrix(engine, cells, wanted, upgrades, name, reuse=reuse)
        runs.append(EngineRun(name, engine.info, wanted, results))
    _show(runs)
    if args.json:
        write_json(args.json, engines_report(runs))
        print(f"JSON report: {args.json}")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(engines_html(runs))
        print(f"HTML report: {args.html}")
    return 0 if all(r.passed for run in runs for r in run.results) else 1


def _runnable(
    cells: list[Cell], upgrades: dict[str, UpgradeImages], images: dict[str, str]
) -> list[Cell]:
    """The cells that can run: an upgrade cell needs its database's next version."""
    for database in sorted({c.database for c in cells if ACTIONS[c.action].upgrades}):
        if database not in upgrades:
            print(f"skipping {database}'s upgrade cells: {no_next_version(images[database])}")
    return [c for c in cells if not ACTIONS[c.action].upgrades or c.database in upgrades]


def _run_matrix(
    engine: Engine,
    cells: list[Cell],
    images: dict[str, str],
    upgrades: dict[str, UpgradeImages],
    name: str,
    *,
    reuse: frozenset[str],
) -> list[ScenarioResult]:
    session = start_run(engine)
    creds = Credentials.random()
    initialised = InitialisedImages(creds, reuse)
    bar = ProgressBar(len(cells))
    label = "" if name == HOST else f"{name} "
    results: list[ScenarioResult] = []
    try:
        for cell in cells:
            bar.starting(label + cell.id)
            upgrade = upgrades.get(cell.database)
            result = run_scenario(
                engine, session, cell, images[cell.database], creds, upgrade, initialised
            )
            results.append(result)
            bar.finished(label + cell.id, _outcome_label(result))
    finally:
        end_run(engine, session)
    return results


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


def _add_run_command(commands: Any) -> None:
    run = commands.add_parser("run", help="run the persistence matrix (or part of it)")
    run.add_argument(
        "--database", action="append", choices=list(DATABASES), help="repeatable; default all"
    )
    run.add_argument(
        "--storage", action="append", choices=list(STORAGE_NAMES), help="repeatable; default all"
    )
    run.add_argument(
        "--action", action="append", choices=list(ACTION_NAMES), help="repeatable; default all"
    )
    run.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report here")
    run.add_argument("--html", type=Path, metavar="PATH", help="write the HTML grid here")
    run.add_argument(
        "--engine",
        action="append",
        metavar="NAME",
        help=f"repeatable: {HOST} (DOCKER_HOST or the default socket) or an engine brought up "
        "with `engines up` (docker-26); several write a comparison too. Default: host",
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
    _add_image_options(run)
    REUSE_INIT_OPTION.add_to(run.add_argument)
    run.set_defaults(handler=cmd_run, database=None, storage=None, action=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Does a stateful container's data survive what happens to the container?",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = commands.add_parser(
        "doctor", help="check the engine and the images; exit 2 if not ready"
    )
    _add_image_options(doctor)
    doctor.set_defaults(handler=cmd_doctor)

    images = commands.add_parser("images", help="build or list the images the scenarios use")
    image_commands = images.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    build = image_commands.add_parser("build", help="build local images (reuses unchanged ones)")
    _add_image_options(build)
    build.set_defaults(handler=cmd_images_build)
    listing = image_commands.add_parser("list", help="the chosen images and the local builds")
    _add_image_options(listing)
    listing.set_defaults(handler=cmd_images_list)

    clean = commands.add_parser(
        "clean", help="remove what harness runs left behind (spares runs still alive)"
    )
    clean.add_argument(
        "--images",
        dest="remove_images",
        action="store_true",
        help="also remove the local images",
    )
    clean.add_argument("--all", action="store_true", help="also remove what live runs own")
    clean.set_defaults(handler=cmd_clean)

    _add_run_command(commands)
    add_grade_command(commands)
    add_engine_commands(commands)
    add_image_commands(commands)
    add_upgrade_command(commands)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    cleanup_on_terminate()
    try:
        if hasattr(args, "images"):
            # A bad image source is a usage error, reported before any engine is needed.
            ImageRequest.read(lambda dest: getattr(args, dest), os.environ)
        return handler(args)
    except HarnessError as error:
        _err(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        _err("interrupted; run `python -m harness clean` if anything was left behind.")
        return 130
