"""A run's state directory: owner, ledger, directories, and telling dead runs from live ones."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.containers.engine import Session
from harness.containers.run_state import STATE_DIR_ENV, RunState, _run_is_dead, state_root


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    return tmp_path / "state"


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_the_state_root_follows_the_environment(private_state: Path) -> None:
    assert state_root() == private_state


def test_a_run_writes_its_owner_before_anything_else(private_state: Path) -> None:
    session = Session.new()
    state = RunState.of(session)
    assert state.directory == private_state / session.id
    assert state.owner == session.owner == f"{socket.gethostname()}:{os.getpid()}"
    assert [p.name for p in state.directory.iterdir()] == ["owner"]


def test_the_ledger_keeps_every_volume_in_order_across_writers() -> None:
    session = Session.new()
    RunState.of(session).record_volumes(["a1", "b2"])
    RunState.of(session).record_volumes([])
    RunState.of(session.scoped("cell")).record_volumes(["c3"])  # a scope shares its run's ledger
    assert RunState.of(session).recorded_volumes() == ["a1", "b2", "c3"]


def test_bind_and_scratch_directories_live_under_the_run() -> None:
    state = RunState.of(Session.new())
    bind = state.new_directory("binds", "harness-x-")
    scratch = state.new_directory("scratch", "ana-")
    assert bind.parent == state.directory / "binds"
    assert scratch.parent == state.directory / "scratch"
    assert bind != state.new_directory("binds", "harness-x-")  # each one fresh


def test_a_run_is_dead_when_its_owner_process_is_gone() -> None:
    here = socket.gethostname()
    alive = RunState.of(Session.new())
    dead = RunState.of(Session(id="dead0001", owner=f"{here}:{dead_pid()}"))
    elsewhere = RunState.of(Session(id="else0001", owner=f"another-host:{dead_pid()}"))
    being_made = RunState(alive.directory.parent / "nowner01")
    being_made.directory.mkdir()
    assert not _run_is_dead(alive, spare_live=True, other_hosts=True)
    assert _run_is_dead(dead, spare_live=True, other_hosts=True)
    assert _run_is_dead(elsewhere, spare_live=True, other_hosts=True)
    # A run's start cleans only this host's runs: another's liveness cannot be seen from here.
    assert not _run_is_dead(elsewhere, spare_live=True, other_hosts=False)
    assert not _run_is_dead(being_made, spare_live=True, other_hosts=True)
    assert _run_is_dead(alive, spare_live=False, other_hosts=True)  # `clean --all`
