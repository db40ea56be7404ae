"""`python -m harness doctor`: is the engine there, and are the chosen images?"""

from __future__ import annotations

import argparse
from typing import Any

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine
from harness.errors import HarnessError
from harness.frontends.cli.common import add_image_options, image_choices
from harness.images.sources import missing_images_error


def cmd_doctor(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    info = engine.info
    print(f"engine   {info.name} {info.version} (API {info.api_version}) at {engine.target}")
    print(f"compose  {_compose_line(engine)}")
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


def _compose_line(engine: Engine) -> str:
    """Compose's version and binary, or why there is none (the matrix itself needs none)."""
    try:
        compose = Compose(compose_binary(), engine.docker_host)
        return f"v{compose.version()} ({compose.binary})"
    except HarnessError as error:
        return str(error)


def add_doctor_command(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the engine and the images; exit 2 if not ready"
    )
    add_image_options(doctor)
    doctor.set_defaults(handler=cmd_doctor)
