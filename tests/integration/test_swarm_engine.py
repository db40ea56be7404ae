"""The swarm engine: `engines up swarm` from nothing (also over what a SIGKILLed `up` left), its
nodes listed as the managers see them, every node holding the run's images, and `engines down
swarm` leaving no node container, volume or network, with the host's images untouched.

The scenarios on a swarm that is up (a killed run cleaned, shards on the nodes, compose-check
`--on swarm`) are tests of their own, marked `swarm`: they run where a swarm is already up (CI's
swarm step, after `make engines`) and skip elsewhere; each looks only at what its own harness
process made, so they run beside each other."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_runs import run_harness

from harness.containers.engine import OWNER_LABEL, Engine
from harness.engines.catalogue import ENGINE_LABEL
from harness.engines.swarm import NETWORK, SwarmNode, connect_node, running_nodes, swarm_nodes

REPO = Path(__file__).parents[2]
SWARM_LABEL = f"{ENGINE_LABEL}=swarm"


def _owned_by(pid: int) -> str:
    """The label filter of what one harness process made."""
    return f"{OWNER_LABEL}={socket.gethostname()}:{pid}"


@pytest.fixture(scope="module")
def swarm_up(harness_engine: Engine) -> list[SwarmNode]:
    """The nodes of the swarm that is up; without one, the test is skipped (it never brings a
    swarm up or down: the lifecycle test below does, alone)."""
    names = running_nodes(harness_engine, SWARM_LABEL)
    if not names:
        pytest.skip(
            "no swarm is up; run `python -m harness engines up swarm` (CI's swarm step does)"
        )
    return swarm_nodes(len(names))


def _swarm_listed() -> dict[str, object]:
    done = run_harness("engines", "list", "--json")
    assert done.returncode == 0, done.stderr
    return next(entry for entry in json.loads(done.stdout) if entry["name"] == "swarm")


def _left_on_host(host: Engine) -> list[str]:
    networks = host.client.networks.list(filters={"label": SWARM_LABEL})
    return [
        *(f"container {c.id}" for c in host.containers_labelled(SWARM_LABEL)),
        *(f"volume {v}" for v in host.volumes_labelled(SWARM_LABEL)),
        *(f"network {n.name}" for n in networks),
    ]


def _killed_while_starting() -> None:
    """`engines up swarm` SIGKILLed once its first node container exists."""
    starting = subprocess.Popen(
        [sys.executable, "-m", "harness", "engines", "up", "swarm", "--nodes", "2"],
        cwd=REPO, env=os.environ | {"HARNESS_IMAGES": "local"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert starting.stderr is not None
    for line in starting.stderr:
        if "starting node1" in line:
            time.sleep(1)
            break
    starting.send_signal(signal.SIGKILL)
    starting.wait(timeout=30)
    starting.stderr.close()


def _on_nodes(nodes: list[SwarmNode], label: str) -> list[str]:
    """What carries `label` on any node: services and secrets (the managers'), containers and
    volumes (each node's own)."""
    found = []
    for node in nodes:
        engine = connect_node(node)
        try:
            client = engine.client
            found += [f"container on {node.name}" for _ in engine.containers_labelled(label)]
            found += [f"volume {v} on {node.name}" for v in engine.volumes_labelled(label)]
            if node.is_manager:
                found += [
                    f"service {s.name}" for s in client.services.list(filters={"label": label})
                ]
                found += [f"secret {s.name}" for s in client.secrets.list(filters={"label": label})]
        finally:
            engine.close()
    return found


@pytest.mark.swarm
def test_a_swarm_run_killed_mid_cell_is_cleaned_from_every_node(swarm_up: list[SwarmNode]) -> None:
    """`run --swarm` SIGKILLed once its cell's service exists leaves it on the swarm; `clean`
    removes it from every node."""
    running = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--swarm", "--database", "mysql", "--storage",
         "named", "--action", "update-force"],
        cwd=REPO, env=os.environ | {"HARNESS_IMAGES": "local"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    mine = _owned_by(running.pid)
    deadline = time.monotonic() + 120
    while not _on_nodes(swarm_up, mine) and time.monotonic() < deadline:
        time.sleep(0.5)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)
    assert _on_nodes(swarm_up, mine), "the killed run had made nothing yet: it tests nothing"
    cleaned = run_harness("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    # (Not a count: another test's `clean` may sweep the dead run's service first.)
    assert _on_nodes(swarm_up, mine) == []


def _verdicts(report: dict[str, Any]) -> dict[str, tuple[str, str | None, bool]]:
    return {r["id"]: (r["expected"], r["observed"], r["passed"]) for r in report["results"]}


def _cells_created_on(node: SwarmNode, since: int, label: str) -> int:
    engine = connect_node(node)
    try:
        events = engine.client.events(
            since=since, until=int(time.time()) + 1, decode=True,
            filters={"type": "container", "event": "create", "label": label},
        )  # fmt: skip
        return sum(1 for _ in events)
    finally:
        engine.close()


@pytest.mark.swarm
def test_shards_on_their_own_nodes_merge_to_one_nodes_verdicts(
    swarm_up: list[SwarmNode], tmp_path: Path
) -> None:
    """`run --engine swarm --shard K/N` runs the `docker run` matrix on the swarm's K-th node (an
    engine of its own); the shards merged give the verdicts of one unsplit run on one node.
    named-prune-recreate survives there (Docker 26; the host's 20.10 loses it), and a bind
    cell needs the node to see the host's state directory."""
    cells = ("--database", "mysql", "--storage", "named", "--storage", "bind", "--action",
             "restart", "--action", "prune-recreate")  # fmt: skip
    since = int(time.time())
    whole = tmp_path / "whole.json"
    ran = run_harness("run", "--engine", "swarm", *cells, "--json", str(whole))
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    pids = [ran.pid]
    shards = [tmp_path / f"shard-{k}.json" for k in (1, 2)]
    for k, path in enumerate(shards, start=1):
        ran = run_harness(
            "run", "--engine", "swarm", *cells, "--shard", f"{k}/2", "--json", str(path)
        )
        assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
        pids.append(ran.pid)
    merged = tmp_path / "merged.json"
    ran = run_harness("merge", *map(str, shards), "--json", str(merged))
    assert ran.returncode == 0, ran.stderr
    one_node = json.loads(whole.read_text())
    assert _verdicts(json.loads(merged.read_text())) == _verdicts(one_node)
    assert len(one_node["results"]) == 4
    assert _verdicts(one_node)["mysql-named-prune-recreate"] == ("survives", "survives", True)
    # The unsplit run and shard 1 on node1; shard 2 on node2 alone.
    node1, node2 = swarm_up[:2]
    assert _cells_created_on(node1, since, _owned_by(pids[0])) > 0
    assert _cells_created_on(node1, since, _owned_by(pids[1])) > 0
    assert _cells_created_on(node2, since, _owned_by(pids[1])) == 0
    assert _cells_created_on(node2, since, _owned_by(pids[2])) > 0


EXAMPLES = REPO / "docs" / "examples"


@pytest.mark.swarm
def test_compose_check_on_the_swarm_keeps_the_named_volume_on_its_node(
    swarm_up: list[SwarmNode], tmp_path: Path
) -> None:
    """The docs' named-volume file as a stack: the day-to-day actions keep the rows on the node
    that holds the volume (exit 0); a move to another node finds it empty there, and the task
    moved back reads every row on the first node."""
    report = tmp_path / "check.json"
    ran = run_harness("compose-check", str(EXAMPLES / "compose-named-volume.yaml"), "--on",
                   "swarm", "--action", "move-node", "--json", str(report))  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert "What the file promises on the swarm, before anything runs:" in ran.stdout
    results = {r["action"]: r for r in json.loads(report.read_text())["results"]}
    assert json.loads(report.read_text())["on"] == "swarm"
    assert list(results) == ["update-force", "kill-task", "move-node", "scale-zero",
                             "stack-redeploy"]  # fmt: skip
    for action in ("update-force", "kill-task", "scale-zero", "stack-redeploy"):
        assert results[action]["observed"] == "survives", results[action]
        assert results[action]["nodes"] == {"written": "node1", "read": "node1"}
    moved = results["move-node"]
    assert (moved["expected"], moved["observed"], moved["passed"]) == ("lost", "lost", True)
    assert moved["nodes"] == {"written": "node1", "read": "node2"}
    assert "moved back to node1, the task read all" in moved["detail"]
    assert "node.hostname == NODE" in moved["advice"]
    password = (EXAMPLES / "db_root_password.txt").read_text().strip()
    assert password not in ran.stdout + ran.stderr + report.read_text()
    assert _on_nodes(swarm_up, _owned_by(ran.pid)) == []


@pytest.mark.swarm
def test_compose_check_on_the_swarm_exits_1_for_the_image_s_volume(
    swarm_up: list[SwarmNode], tmp_path: Path
) -> None:
    """The docs' file without a volume: each task gets a new anonymous volume, so a forced
    update loses the rows; a must-survive action, so exit 1 with the line to add."""
    report = tmp_path / "anonymous.json"
    ran = run_harness("compose-check", str(EXAMPLES / "compose-no-volume.yaml"), "--on", "swarm",
                   "--action", "update-force", "--must-survive", "update-force", "--json",
                   str(report))  # fmt: skip
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr[-2000:]
    (result,) = json.loads(report.read_text())["results"]
    assert (result["storage"], result["observed"], result["passed"]) == (
        "anonymous", "lost", True)  # fmt: skip
    assert (
        "db loses its rows on update-force: keep /var/lib/postgresql/data in a named volume"
        in ran.stdout
    )
    assert _on_nodes(swarm_up, _owned_by(ran.pid)) == []


@pytest.mark.usefixtures("local_images")
def test_swarm_comes_up_over_a_killed_start_lists_its_nodes_and_goes_down_leaving_nothing(
    harness_engine: Engine,
) -> None:
    if harness_engine.containers_labelled(SWARM_LABEL):
        pytest.skip(
            "a swarm is up (the swarm matrix may be using it); this test would take it down"
        )
    loaded: set[str] = set()
    try:
        _killed_while_starting()
        assert _left_on_host(harness_engine), "the killed start made nothing: it tests nothing"

        up = run_harness("engines", "up", "swarm", "--nodes", "2")
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        assert up.stdout.startswith("swarm: docker 26.")
        listed = _swarm_listed()
        assert listed["state"] == "up"
        nodes = listed["nodes"]
        assert isinstance(nodes, list)
        assert [(n["name"], n["role"], n["state"]) for n in nodes] == [
            ("node1", "manager", "ready"),
            ("node2", "worker", "ready"),
        ]
        # A task may land on any node, and no node can pull: each holds the run's images.
        host_tags = {tag for i in harness_engine.client.images.list() for tag in i.tags}
        for node in swarm_nodes(2):
            engine = connect_node(node)
            try:
                held = {tag for i in engine.client.images.list() for tag in i.tags}
            finally:
                engine.close()
            databases = {tag.split("/")[-1].split("-")[0] for tag in held}
            assert databases == {"mysql", "mariadb", "postgres"}, held
            assert held <= host_tags
            loaded |= held

        again = run_harness("engines", "up", "swarm", "--nodes", "2")
        assert again.returncode == 0
        assert again.stderr == "", "a swarm that is up was started or loaded again"
    finally:
        down = run_harness("engines", "down", "swarm")
    assert down.returncode == 0, down.stderr
    assert down.stdout == "swarm: removed\n"
    assert _swarm_listed()["state"] == "down"
    assert _left_on_host(harness_engine) == []
    assert harness_engine.client.networks.list(names=[NETWORK]) == []
    # Other tests build and remove images meanwhile; what down must spare is what it loaded.
    host_tags_after = {tag for i in harness_engine.client.images.list() for tag in i.tags}
    assert loaded <= host_tags_after, "down removed the host's images it had loaded"
