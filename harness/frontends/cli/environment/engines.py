"""`python -m harness engines up|down|list`: the engines under test beside the host's."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import Any

from harness.containers.engine import Engine
from harness.engines.catalogue import (
    OFFERS,
    SWARM,
    EngineOffer,
    SwarmRunner,
    engine_down,
    engine_states,
    engine_up,
    offer_named,
)
from harness.engines.swarm import DEFAULT_NODES, swarm_nodes
from harness.errors import UsageError
from harness.frontends.options import ImageRequest
from harness.images.availability import require_present, select_images
from harness.images.sources import with_upgrade_images

ALL = "all"


def _offers(names: list[str], nodes: int | None = None) -> list[EngineOffer]:
    chosen = list(OFFERS.values()) if not names or ALL in names else [offer_named(n) for n in names]
    if nodes is None:
        return chosen
    if SWARM not in [offer.name for offer in chosen]:
        raise UsageError("--nodes is the swarm's node count; add `swarm` to the engines.")
    swarm_nodes(nodes)  # a count out of range is a usage error before anything starts
    return [
        replace(offer, runner=SwarmRunner(nodes)) if offer.name == SWARM else offer
        for offer in chosen
    ]


def _quiet_progress(message: str) -> None:
    # Building and loading take minutes: say what is happening, on stderr, only when it does.
    print(f"  {message}", file=sys.stderr, flush=True)


def cmd_engines_up(args: argparse.Namespace) -> int:
    host = Engine.connect()
    request = ImageRequest.read(lambda dest: getattr(args, dest, None), os.environ)
    chosen = select_images(host, request, ask_registry=False)
    require_present(host, chosen)
    # The upgrade cells need each database's other version too: loaded where the host has it
    # (an official image nobody pulled only costs those cells, not the engine).
    refs = [c.ref for c in chosen]
    for extra in [c for c in with_upgrade_images(chosen) if c.ref not in refs]:
        if host.has_image(extra.ref):
            refs.append(extra.ref)
        else:
            _quiet_progress(f"not loading {extra.ref}: the host lacks it (upgrade cells need it)")
    for offer in _offers(args.names, args.nodes):
        remote = engine_up(host, offer, refs, _quiet_progress)
        info = remote.info
        remote.close()
        print(f"{offer.name}: {info.name} {info.version} (API {info.api_version}) at "
              f"{offer.docker_host}")  # fmt: skip
    return 0


def cmd_engines_down(args: argparse.Namespace) -> int:
    host = Engine.connect()
    for offer in _offers(args.names):
        if engine_down(host, offer):
            print(f"{offer.name}: removed")
    return 0


def cmd_engines_list(args: argparse.Namespace) -> int:
    states = engine_states(Engine.connect())
    if args.json:
        print(json.dumps([s.to_dict() for s in states], indent=2))
        return 0
    for s in states:
        version = f"{s.version} (API {s.api_version})" if s.version else "-"
        print(f"{s.name:<10} {s.state:<14} {version:<28} {s.docker_host}")
        for node in s.nodes:
            role = f"{node.role}{' (leader)' if node.leader else ''}"
            print(f"  {node.name:<8} {node.state:<14} {role:<18} {node.availability:<9} "
                  f"{node.address}")  # fmt: skip
    return 0


def add_engine_commands(commands: Any) -> None:
    engines = commands.add_parser(
        "engines",
        help=f"bring up, list or take down the engines under test ({', '.join(OFFERS)})",
    )
    actions = engines.add_subparsers(dest="engines_command", required=True, metavar="ACTION")
    names = [*OFFERS, ALL]
    up = actions.add_parser("up", help="start engines and load the images (idempotent)")
    # No `choices`: argparse rejects an empty `nargs="*"` list against them ("invalid choice:
    # []"); `_offers` names the known engines instead.
    which = f"{', '.join(names)} (default: all)"
    up.add_argument("names", nargs="*", metavar="ENGINE", help=which)
    up.add_argument(
        "--nodes",
        type=int,
        metavar="N",
        help=f"the swarm's node count (default {DEFAULT_NODES}; three or more keep a quorum "
        "of managers when one node goes down)",
    )
    up.set_defaults(handler=cmd_engines_up)
    down = actions.add_parser("down", help="remove engines and everything they hold")
    down.add_argument("names", nargs="*", metavar="ENGINE", help=which)
    down.set_defaults(handler=cmd_engines_down)
    listing = actions.add_parser("list", help="the host engine and the engines under test")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=cmd_engines_list)
