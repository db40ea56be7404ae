"""`python -m harness images build|list`: the images the scenarios use."""

from __future__ import annotations

import argparse
from typing import Any

from harness.containers.engine import IMAGE_LABEL, Engine
from harness.errors import ImageMissing
from harness.frontends.cli.common import add_image_options, image_choices, progress_printer
from harness.images.build import ensure_images
from harness.images.recipes import VERSION_IMAGES
from harness.images.sources import describe_choices, with_upgrade_images
from harness.model.servers.databases import DATABASES
from harness.model.servers.image_variables import CONTRACTS, Variable
from harness.model.servers.versions import VERSIONS


def cmd_images_build(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    source, choices = image_choices(args, engine, ask_registry=True)
    print(describe_choices(source, choices), flush=True)
    progress = progress_printer()
    # Each chosen version and the versions of its upgrade step: the matrix's upgrade cells.
    choices = with_upgrade_images(choices)
    # Locally, every version of each database: `--postgres-version 15` and the stand-ins of old
    # tags (`postgres:14` runs on 15) find their image already built.
    local_databases = {c.database for c in choices if c.origin == "local"}
    local = [image for (db, _), image in VERSION_IMAGES.items() if db in local_databases]
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
    flags = " / ".join(f"--{database}-version" for database in DATABASES)
    print(f"versions ({flags}):")
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


# Which local image plays each official image's variables.
PLAYED_BY = {
    "mariadb": "`harness-local/mariadb-*` (Debian's MariaDB)",
    "mysql": "`harness-local/mysql-*` (Oracle MySQL, Debian's package)",
    "postgres": "`harness-local/postgres-*`",
}
_HEADER = "| variable | `_FILE` | alias | what the image does | stand-in |\n|---|---|---|---|---|"


def _row(v: Variable) -> str:
    verdict = f"refused: {v.refused}" if v.refused else "honoured"
    alias = f"`{v.alias}` (loses when both are set)" if v.alias else ""
    file_form = "yes" if v.file_form else ""
    return f"| `{v.name}` | {file_form} | {alias} | {v.meaning} | {verdict} |"


def variables_markdown() -> str:
    """Per official image, every documented variable, honoured or refused (docs/images.md)."""
    blocks = [
        f"`{c.name}`, played by {PLAYED_BY[c.name]}:\n\n{_HEADER}\n"
        + "\n".join(_row(v) for v in c.variables)
        for c in CONTRACTS.values()
    ]
    return "\n\n".join(blocks) + "\n"


def cmd_images_variables(args: argparse.Namespace) -> int:
    """The official images' variables and what the stand-ins do with each (docs/images.md)."""
    print(variables_markdown(), end="")
    return 0


def add_images_commands(commands: Any) -> None:
    images = commands.add_parser("images", help="build or list the images the scenarios use")
    actions = images.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="build local images (reuses unchanged ones)")
    add_image_options(build)
    build.set_defaults(handler=cmd_images_build)
    listing = actions.add_parser("list", help="the chosen images and the local builds")
    add_image_options(listing)
    listing.set_defaults(handler=cmd_images_list)
    variables = actions.add_parser(
        "variables", help="the official images' variables the stand-ins honour or refuse"
    )
    variables.set_defaults(handler=cmd_images_variables)
