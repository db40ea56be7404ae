"""One small object per lifecycle action: what it does to a running deployment.

Adding an action is one new `Action` in `ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.deployment import STOP_TIMEOUT, Deployment


@dataclass(frozen=True)
class Action:
    name: str
    command: str  # what a person would type, for reports
    perform: Callable[[Deployment], None]
    # Whether the container after the action is a new one built from the same storage setup,
    # so the data directory must again lie on the intended mount.
    same_storage_setup: bool


def _restart(d: Deployment) -> None:
    d.container.restart(timeout=STOP_TIMEOUT)


def _stop_start(d: Deployment) -> None:
    d.container.stop(timeout=STOP_TIMEOUT)
    d.container.start()


def _kill_start(d: Deployment) -> None:
    # SIGKILL: no shutdown, no flush; only what the server made durable counts.
    d.container.kill()
    d.container.wait()
    d.container.start()


def _recreate(d: Deployment) -> None:
    d.retire(remove_volumes=False)
    d.start_new()


def _recreate_rm_v(d: Deployment) -> None:
    d.retire(remove_volumes=True)
    d.start_new()


def _prune_recreate(d: Deployment) -> None:
    d.retire(remove_volumes=False)
    d.prune_volumes()
    d.start_new()


def _volumes_from(d: Deployment) -> None:
    old = d.container
    # Two servers must never share a data directory: the old one stops first.
    old.stop(timeout=STOP_TIMEOUT)
    d.start_new(volumes_from=old)


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("restart", "docker restart", _restart, same_storage_setup=False),
        Action("stop-start", "docker stop; docker start", _stop_start, same_storage_setup=False),
        Action("kill-start", "docker kill; docker start", _kill_start, same_storage_setup=False),
        Action("recreate", "docker rm; docker run", _recreate, same_storage_setup=True),
        Action(
            "recreate-rm-v", "docker rm -v; docker run", _recreate_rm_v, same_storage_setup=True
        ),
        Action(
            "prune-recreate",
            "docker rm; docker volume prune; docker run",
            _prune_recreate,
            same_storage_setup=True,
        ),
        Action(
            "volumes-from",
            "docker stop; docker run --volumes-from old",
            _volumes_from,
            same_storage_setup=False,
        ),
    )
}
