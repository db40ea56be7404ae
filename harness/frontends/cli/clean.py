"""`python -m harness clean`: remove what harness runs left behind."""

from __future__ import annotations

import argparse
from typing import Any

from harness.containers.engine import IMAGE_LABEL, Engine
from harness.containers.run_state import clean_dead_runs
from harness.engines.catalogue import ENGINE_LABEL, SWARM
from harness.engines.swarm import SwarmCluster, running_nodes
from harness.engines.swarm_service import sweep_swarm


def cmd_clean(args: argparse.Namespace) -> int:
    engine = Engine.connect()
    report = clean_dead_runs(engine, spare_live=not args.all)
    print(f"removed {report}")
    if running_nodes(engine, f"{ENGINE_LABEL}={SWARM}"):
        cluster = SwarmCluster.connect(engine, f"{ENGINE_LABEL}={SWARM}")
        try:
            services, left = sweep_swarm(cluster, spare_live=not args.all)
            print(f"removed from the swarm: {services} service(s), {left}")
        finally:
            cluster.close()
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


def add_clean_command(commands: Any) -> None:
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
