"""`python -m harness schema report|lab|grades|compose-check`: the JSON Schema of a published
contract."""

from __future__ import annotations

import argparse
import sys
from typing import Any

CONTRACTS = ("report", "lab", "grades", "compose-check")


def cmd_schema(args: argparse.Namespace) -> int:
    # pydantic loads only for this command.
    from harness.frontends.reports.schemas import schema_text  # noqa: PLC0415

    sys.stdout.write(schema_text(args.contract))
    return 0


def add_schema_command(commands: Any) -> None:
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of the JSON report, of lab.yaml, of the grading JSON or of "
        "compose-check's JSON",
    )
    schema.add_argument("contract", choices=CONTRACTS)
    schema.set_defaults(handler=cmd_schema)
