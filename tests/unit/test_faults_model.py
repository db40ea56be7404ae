"""Naming what struck a cell from outside, from the engine's container events (no engine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.model.faults import (
    CellSteps,
    ContainerEvent,
    disk_full,
    full_disk_cause,
    interference,
    struck_from_outside,
    verdict_struck_from_outside,
)


def _clock(times: list[int]) -> Iterator[int]:
    yield from times


@pytest.fixture
def steps() -> CellSteps:
    """start at 10, write at 20, the action (the harness acting) at 30, read-back at 40,
    cleanup from 50."""
    ticks = _clock([10, 20, 30, 40, 50])
    cell = CellSteps(clock=lambda: next(ticks))
    cell.begin("the start of the first container")
    cell.begin("the write of the Persons rows")
    cell.begin("the restart action", acting=True)
    cell.begin("the read-back of the rows")
    cell.finish()
    return cell


def test_a_kill_outside_the_action_is_named_with_its_step_and_signal(steps: CellSteps) -> None:
    events = [ContainerEvent("kill", "harness-x-1", 25, "9")]
    assert interference(events, steps) == (
        "container harness-x-1 was killed with signal 9 by something outside the harness "
        "during the write of the Persons rows"
    )


def test_the_harness_s_own_kills_and_removals_in_the_action_are_not_interference(
    steps: CellSteps,
) -> None:
    events = [ContainerEvent("kill", "c", 31, "15"), ContainerEvent("destroy", "c", 35)]
    assert interference(events, steps) is None


def test_a_removal_outside_the_action_is_named(steps: CellSteps) -> None:
    events = [ContainerEvent("destroy", "harness-x-2", 41)]
    assert interference(events, steps) == (
        "container harness-x-2 was removed by something outside the harness during the "
        "read-back of the rows"
    )


def test_an_oom_kill_counts_even_inside_the_action(steps: CellSteps) -> None:
    events = [ContainerEvent("kill", "c", 32, "9"), ContainerEvent("oom", "c", 33)]
    cause = interference(events, steps)
    assert cause is not None
    assert cause == (
        "the kernel killed container c for memory (OOM) during the restart action; give it "
        "more memory"
    )


def test_events_of_the_cleanup_and_before_the_cell_are_not_judged(steps: CellSteps) -> None:
    events = [ContainerEvent("oom", "c", 5), ContainerEvent("destroy", "c", 50),
              ContainerEvent("kill", "c", 70, "9")]  # fmt: skip
    assert interference(events, steps) is None


def test_the_first_event_in_time_is_the_cause(steps: CellSteps) -> None:
    events = [ContainerEvent("destroy", "late", 45), ContainerEvent("kill", "early", 15, "9")]
    cause = interference(events, steps)
    assert cause is not None
    assert "container early was killed" in cause


def test_an_engine_event_is_read_with_its_name_time_and_signal() -> None:
    raw = {"Action": "kill", "timeNano": 1796044038602938478,
           "Actor": {"Attributes": {"name": "nostalgic_black", "signal": "9"}}}  # fmt: skip
    assert ContainerEvent.from_engine(raw) == ContainerEvent(
        "kill", "nostalgic_black", 1796044038602938478, "9"
    )


def test_a_forced_removal_is_said_as_a_removal_not_as_its_kill(steps: CellSteps) -> None:
    events = [ContainerEvent("kill", "c", 22, "9"), ContainerEvent("destroy", "c", 23)]
    assert interference(events, steps) == (
        "container c was removed by something outside the harness during the write of the "
        "Persons rows"
    )


def test_a_struck_cell_s_error_gives_the_cause_then_what_it_saw() -> None:
    assert struck_from_outside("container c was removed", "NotFound: 404") == (
        "container c was removed (what the cell saw: NotFound: 404); no verdict"
    )
    assert verdict_struck_from_outside("c was killed") == (
        "c was killed; the rows went through more than the action, so no verdict"
    )


@pytest.mark.parametrize(
    "seen",
    [
        'could not extend file "base/16384/16385": No space left on device',  # PostgreSQL
        "InnoDB: preallocating 100663296 bytes for file ./ib_logfile101 failed with error 28",
        "(1114, \"The table 'Persons' is full\")",  # MariaDB through pymysql
    ],
)
def test_a_server_s_words_for_a_full_disk_are_recognised(seen: str) -> None:
    assert disk_full(seen)
    assert full_disk_cause(seen).startswith("the disk under the data directory is full; ")


def test_other_errors_are_not_taken_for_a_full_disk() -> None:
    assert not disk_full("the queue is full of work; connection refused (errno 111)")


def test_a_failure_s_step_is_the_one_the_cell_was_in_not_its_cleanup(steps: CellSteps) -> None:
    # The cell's teardown runs before its cause is said: the step must survive it.
    assert steps.current == "the read-back of the rows"
