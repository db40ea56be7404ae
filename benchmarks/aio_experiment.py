"""`make aio-experiment`: is MariaDB's io_uring behind the crash campaigns' odd rounds?

Twice, a `mysql-bind` crash campaign beside docker-in-docker image loads read one acknowledged
row back twice and then saw the next server crash mid-write (docs/durability.md). The suspect:
MariaDB 10.11 writes through io_uring here, and a killed server's writes still in flight may
land after its container is reported gone. This experiment runs the same campaign with io_uring
on (the server's default) and off (`--innodb-use-native-aio=0`), interleaved so a noisy moment
of the shared machine touches both arms, under the same load: a docker-in-docker engine
loading an image again and again. An experiment, never a test.

    AIO_CAMPAIGNS=40   campaigns per arm
    AIO_ROUNDS=20      kill rounds per campaign
    AIO_LOAD=1         the docker-in-docker load (0: none, for a quiet baseline)
    AIO_MYSQL_VERSION  the MariaDB to run (default: the newest built, as a plain run's); the
                       anomaly was seen on 10.11, before 11.8 was built here
    AIO_CONTINUE=0     1: keep the campaigns already recorded (same image, rounds and load) and
                       run only the missing ones, with the next seeds

Writes `aio-experiment-<server>.json` (`mariadb-10.11`, ...) in benchmarks/results/ after every
campaign (a run stopped midway keeps what it finished) and prints the counts per arm at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from harness.containers.engine import Engine
from harness.containers.run_state import end_run, start_run
from harness.engines.catalogue import connect_engine
from harness.frontends.options import ImageRequest
from harness.images.availability import require_present, select_images
from harness.model.durability import DEFAULT_SEED, Campaign, CampaignPlan
from harness.model.servers.credentials import Credentials
from harness.persistence.durability import run_campaign

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LOAD_ENGINE = "docker-26"
ARMS = {"io_uring on": (), "io_uring off": ("--innodb-use-native-aio=0",)}
PLAN = CampaignPlan("mysql", "bind", safe=True, must_show="no loss")


@dataclass
class Arm:
    """One arm's campaigns, each recorded as the few numbers the experiment compares."""

    name: str
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    def add(self, campaign: Campaign) -> None:
        self.campaigns.append({
            "seed": campaign.seed,
            "rounds": len(campaign.rounds),
            "clean": campaign.passed,
            "lost": campaign.total("lost"),
            "unexpected": campaign.total("unexpected"),
            "error": campaign.error.splitlines()[0][:300] if campaign.error else None,
            "evidence": list(campaign.evidence),  # whole: the server log is the clue
        })  # fmt: skip

    def row(self) -> dict[str, Any]:
        """Each anomaly's count: campaigns with an odd row (read back but never acknowledged,
        or twice), with an acknowledged row lost, and stopped by an error (a crashed server)."""
        done = self.campaigns
        return {
            "arm": self.name,
            "campaigns": len(done),
            "rounds": sum(c["rounds"] for c in done),
            "clean": sum(c["clean"] for c in done),
            "with_unexpected_rows": sum(bool(c["unexpected"]) for c in done),
            "with_lost_acknowledged": sum(bool(c["lost"]) for c in done),
            "stopped_by_error": sum(bool(c["error"]) for c in done),
            "errors": [c["error"] for c in done if c["error"]],
        }


class ImageLoads:
    """The load the anomaly was seen beside: an image saved from the host engine and loaded
    into a docker-in-docker engine, over and over, until stopped."""

    def __init__(self, host: Engine, image: str) -> None:
        self.host, self.image = host, image
        self.loads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        target = connect_engine(LOAD_ENGINE)
        try:
            while not self._stop.is_set():
                self.host.copy_image_to(target, self.image)
                target.remove_image(self.image, force=True)
                self.loads += 1
        finally:
            target.close()

    def __enter__(self) -> ImageLoads:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=600)


def main() -> int:
    campaigns = int(os.environ.get("AIO_CAMPAIGNS", "40"))
    rounds = int(os.environ.get("AIO_ROUNDS", "20"))
    with_load = os.environ.get("AIO_LOAD", "1") != "0"
    version = os.environ.get("AIO_MYSQL_VERSION") or None
    engine = Engine.connect()
    request = ImageRequest.read(lambda name: version if name == "mysql_version" else None,
                                os.environ)  # fmt: skip
    choices = select_images(engine, request, ask_registry=False)
    require_present(engine, choices)
    images = {c.database: c.ref for c in choices}
    result_path = RESULTS / f"aio-experiment-{_server(images['mysql'])}.json"
    wanted = {"image": images["mysql"], "rounds": rounds, "load": with_load}
    resume = os.environ.get("AIO_CONTINUE") == "1"
    record = _recorded(result_path, wanted) if resume else None
    arms = [Arm(name, list(record["arms"][name]) if record else []) for name in ARMS]
    earlier_loads = record["image_loads"] if record else 0
    earlier_seconds = record["seconds"] if record else 0
    first = min(len(arm.campaigns) for arm in arms)
    print(f"aio-experiment: {images['mysql']}, campaigns {first + 1}..{campaigns} per arm",
          flush=True)  # fmt: skip
    if with_load:
        subprocess.run([sys.executable, "-m", "harness", "engines", "up", LOAD_ENGINE], check=True)
    session, creds = start_run(engine), Credentials.random()
    started = time.monotonic()
    load = ImageLoads(engine, images["postgres"]) if with_load else None

    def save() -> dict[str, Any]:
        result = {
            "image": images["mysql"], "campaigns_per_arm": campaigns, "rounds": rounds,
            "load": with_load,
            "image_loads": earlier_loads + (load.loads if load else 0),
            "seconds": earlier_seconds + round(time.monotonic() - started),
            "arms": [arm.row() for arm in arms],
            "campaigns": {arm.name: arm.campaigns for arm in arms},
        }  # fmt: skip
        RESULTS.mkdir(parents=True, exist_ok=True)
        partial = result_path.with_suffix(".partial")
        partial.write_text(json.dumps(result, indent=2) + "\n")
        partial.replace(result_path)  # never a half-written record
        return result

    try:
        with load or contextlib.nullcontext():
            for index in range(first, campaigns):
                for arm in arms:  # interleaved: on, off, on, off...
                    if len(arm.campaigns) > index:
                        continue
                    campaign = run_campaign(
                        engine, session, PLAN, images["mysql"], creds, rounds=rounds,
                        seed=DEFAULT_SEED + index, server_options=ARMS[arm.name],
                    )  # fmt: skip
                    arm.add(campaign)
                    save()
                    _show(time.monotonic() - started, arm.name, index + 1, campaign)
    finally:
        end_run(engine, session)
        if with_load:
            subprocess.run([sys.executable, "-m", "harness", "engines", "down", LOAD_ENGINE],
                           check=False)  # fmt: skip
    result = save()
    print(
        f"\n{'arm':<14}{'campaigns':>10}{'clean':>7}{'odd rows':>10}{'lost acked':>12}{'errors':>8}"
    )
    for row in result["arms"]:
        print(f"{row['arm']:<14}{row['campaigns']:>10}{row['clean']:>7}"
              f"{row['with_unexpected_rows']:>10}{row['with_lost_acknowledged']:>12}"
              f"{row['stopped_by_error']:>8}")  # fmt: skip
    print(f"({result['image_loads']} image loads beside them; {result_path})")
    return 0


def _server(ref: str) -> str:
    """`mariadb-10.11` for the local `harness-local/mariadb-10.11:<hash>`; name-tag otherwise."""
    base, _, tag = ref.rsplit("/", 1)[-1].partition(":")
    return base if ref.startswith("harness-local/") else f"{base}-{tag}"


def _recorded(path: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The campaigns already recorded, when they were run the same way (image, rounds, load);
    otherwise None, and the run starts from the first seed."""
    if not path.exists():
        return None
    old = json.loads(path.read_text())
    if any(old.get(key) != value for key, value in wanted.items()) or "campaigns" not in old:
        print(f"{path} was run another way (image, rounds or load); starting from the first seed.")
        return None
    return {"arms": old["campaigns"], "image_loads": old["image_loads"],
            "seconds": old["seconds"]}  # fmt: skip


def _show(seconds: float, arm: str, number: int, campaign: Campaign) -> None:
    error = f", error: {campaign.error.splitlines()[0][:120]}" if campaign.error else ""
    print(f"[{seconds:6.0f} s] {arm} #{number}: {len(campaign.rounds)} rounds, "
          f"{campaign.total('lost')} lost, {campaign.total('unexpected')} unexpected{error}",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
