"""What several commands share: the image options and the image choice they make."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from harness.containers.engine import Engine
from harness.frontends.options import IMAGE_OPTIONS, ImageRequest
from harness.images.availability import select_images
from harness.images.sources import ImageChoice, ImageSource


def add_image_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("images")
    for option in IMAGE_OPTIONS:
        option.add_to(group.add_argument)


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
