"""What several commands share: the image options and the image choice they make, the report
options (`--json`, `--html`, `--shard`) and the rule that ties them."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

from harness.containers.engine import Engine
from harness.errors import UsageError
from harness.frontends.options import IMAGE_OPTIONS, ImageRequest
from harness.images.availability import select_images
from harness.images.sources import ImageChoice, ImageSource
from harness.model.shards import Shard, shard_option


def add_image_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("images")
    for option in IMAGE_OPTIONS:
        option.add_to(group.add_argument)


def add_report_options(parser: argparse.ArgumentParser, parts: str, *, html: str = "") -> None:
    """`--json PATH`, `--html PATH` (when the command draws one: `html` says what) and
    `--shard K/N` over `parts` ("the chosen cells", "the class")."""
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report here")
    if html:
        parser.add_argument("--html", type=Path, metavar="PATH", help=f"write {html} here")
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help=f"take only the K-th of N equal parts of {parts} (one per machine; `merge` puts "
        "their JSON reports together)",
    )


def shard_of(args: argparse.Namespace) -> Shard | None:
    """The `--shard` asked for, which needs `--json`: a shard's report is what `merge` reads."""
    shard = shard_option(args.shard)
    if shard and not args.json:
        raise UsageError(
            "--shard needs --json PATH: `merge` puts the shards' JSON reports together."
        )
    return shard


def image_choices(
    args: argparse.Namespace, engine: Engine, *, ask_registry: bool
) -> tuple[ImageSource, list[ImageChoice]]:
    request = ImageRequest.read(lambda dest: getattr(args, dest), os.environ)
    choices = select_images(engine, request, ask_registry=ask_registry)
    return request.source, choices


def progress_printer() -> Callable[[str], None]:
    started = time.monotonic()

    def show(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    return show
