"""The retry helper, with a fake clock: no real sleeping."""

from __future__ import annotations

import pytest

from harness.containers.retry import Backoff, GiveUp, RetryExhausted, retry


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _flaky(failures: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("not yet")
        return "ok"

    return calls, action


def test_returns_once_action_succeeds() -> None:
    """Failures before success are retried; the result is returned."""
    clock = FakeClock()
    calls, action = _flaky(3)
    assert retry(action, Backoff(jitter=0), clock=clock, sleep=clock.sleep) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 4


def test_backoff_doubles_and_is_capped() -> None:
    """Waits grow exponentially from first_wait and never exceed max_wait."""
    clock = FakeClock()
    _, action = _flaky(6)
    backoff = Backoff(first_wait=0.1, max_wait=0.5, jitter=0)
    retry(action, backoff, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])


def test_attempt_bound() -> None:
    """After `attempts` failures it gives up with the last error."""
    clock = FakeClock()
    calls, action = _flaky(100)
    with pytest.raises(RetryExhausted) as caught:
        retry(action, Backoff(attempts=5, jitter=0), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert len(calls) == 5
    assert isinstance(caught.value.last_error, ConnectionError)


def test_deadline_bound() -> None:
    """Time runs out before attempts do."""
    clock = FakeClock()
    calls, action = _flaky(1000)
    backoff = Backoff(attempts=1000, deadline_seconds=3.0, first_wait=1.0, max_wait=1.0, jitter=0)
    with pytest.raises(RetryExhausted):
        retry(action, backoff, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    # Attempts at 0, 1, 2 and 3 s; the fourth fails at the deadline, and no fifth is made.
    assert clock.now == pytest.approx(3.0)
    assert len(calls) == 4


def test_give_up_stops_at_once() -> None:
    """GiveUp propagates without further attempts."""
    calls: list[int] = []

    def action() -> None:
        calls.append(1)
        raise GiveUp

    with pytest.raises(GiveUp):
        retry(action, Backoff(), sleep=lambda _s: None)
    assert calls == [1]


def test_unlisted_errors_are_not_retried() -> None:
    """Only `retry_on` errors are retried."""
    calls: list[int] = []

    def action() -> None:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        retry(action, Backoff(), retry_on=(ConnectionError,), sleep=lambda _s: None)
    assert calls == [1]
