"""`python -m harness`: the command line (`python -m harness --help` lists its commands)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.frontends.cli.clean import add_clean_command
from harness.frontends.cli.environment.doctor import add_doctor_command
from harness.frontends.cli.environment.engines import add_engine_commands
from harness.frontends.cli.environment.images import add_images_commands
from harness.frontends.cli.environment.layers import add_layers_commands
from harness.frontends.cli.gates.compose_check import add_compose_check_command
from harness.frontends.cli.gates.upgrade import add_upgrade_command
from harness.frontends.cli.grade import add_grade_command
from harness.frontends.cli.merge import add_merge_command
from harness.frontends.cli.run import add_run_command
from harness.frontends.cli.schema import add_schema_command
from harness.frontends.options import ImageRequest
from harness.frontends.signals import cleanup_on_terminate

Handler = Callable[[argparse.Namespace], int]


def _err(message: str) -> None:
    print(f"harness: {message}", file=sys.stderr)


def program_name(argv0: str) -> str:
    """How the user called the harness, for usage lines: `python -m harness` runs
    `harness/__main__.py`; the installed command is `harness` (or wherever it was linked)."""
    name = Path(argv0).name
    return "python -m harness" if name in ("__main__.py", "") else name


def build_parser(prog: str = "python -m harness") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Does a stateful container's data survive what happens to the container?",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_doctor_command(commands)
    add_images_commands(commands)
    add_clean_command(commands)
    add_run_command(commands)
    add_grade_command(commands)
    add_engine_commands(commands)
    add_layers_commands(commands)
    add_upgrade_command(commands)
    add_compose_check_command(commands)
    add_merge_command(commands)
    add_schema_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Usage lines name the command as typed; arguments handed in (a test, an embedding) have
    # no command line of their own.
    parser = build_parser(
        program_name(sys.argv[0]) if argv is None and sys.argv else "python -m harness"
    )
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
