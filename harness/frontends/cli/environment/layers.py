"""`python -m harness layers IMAGE` and `python -m harness inspect IMAGE`."""

from __future__ import annotations

import argparse
from typing import Any

from harness.containers.engine import Engine
from harness.errors import UsageError
from harness.images.availability import cannot_tell_database
from harness.images.inspect import check_image, detect_database
from harness.images.layers import added_layers, chain_hints, short, steps
from harness.model.placement import ImageFacts
from harness.model.servers.databases import DATABASES

NOT_COVERED_EXIT = 1


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def cmd_layers(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    attrs = engine.image_attrs(args.image)
    layers = list(attrs["RootFS"].get("Layers") or [])
    history = engine.image_history(args.image)
    image_steps = steps(history, layers)
    base_layers: list[str] = []
    if args.base:
        base_layers = list(engine.image_attrs(args.base)["RootFS"].get("Layers") or [])
        try:
            added = added_layers(layers, base_layers)
        except ValueError as error:
            raise UsageError(f"{args.image} vs {args.base}: {error}; check --base.") from None
    print(f"image {args.image}" + (f" (base {args.base})" if args.base else ""))
    print(f"  {'#':>2}  {'layer':<12}  {'size':>9}  instruction")
    first_added_step = 0
    for number, step in enumerate(image_steps, start=1):
        in_base = step.layer in base_layers if step.layer else False
        if in_base:
            first_added_step = number
        marker = "  [base]" if in_base else ""
        instruction = (
            step.instruction if len(step.instruction) <= 70 else step.instruction[:67] + "..."
        )
        print(
            f"  {number:>2}  {short(step.layer):<12}  {_size(step.size):>9}  {instruction}{marker}"
        )
    summary = f"layers: {len(layers)} in all"
    if args.base:
        summary += f", {len(added)} added over the base"
        if not added:
            summary += " (the layer list is identical to the base's)"
    print(summary)
    if image_steps and all(s.layer is None for s in image_steps) and layers:
        print("note: the history does not pair with the layers one to one; layer column unknown")
    added_steps = [s.instruction for s in image_steps[first_added_step:]]
    for hint in chain_hints(added_steps, first_step=first_added_step + 1):
        print(f"hint: {hint}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    facts = ImageFacts.from_config(args.image, engine.image_attrs(args.image)["Config"])
    database = args.database or detect_database(facts)
    if database is None:
        raise cannot_tell_database(args.image, "--database")
    check = check_image(facts, database)
    print("\n".join(check.lines()))
    return 0 if check.covered else NOT_COVERED_EXIT


def add_layers_commands(commands: Any) -> None:
    layers = commands.add_parser(
        "layers", help="an image's layers, what it adds over a base, and RUNs worth chaining"
    )
    layers.add_argument("image")
    layers.add_argument("--base", metavar="IMAGE", help="count only the layers added over this")
    layers.set_defaults(handler=cmd_layers)

    inspect = commands.add_parser(
        "inspect",
        help="is a database image's data directory covered by a declared volume? (exit 1 if not)",
    )
    inspect.add_argument("image")
    inspect.add_argument("--database", choices=list(DATABASES), help="when it cannot be detected")
    inspect.set_defaults(handler=cmd_inspect)
