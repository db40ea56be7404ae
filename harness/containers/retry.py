"""One retry helper: bounded by attempts and by a deadline, capped exponential backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class RetryExhausted(Exception):
    """Every attempt failed; `last_error` is the final one."""

    def __init__(self, attempts: int, seconds: float, last_error: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempt(s) in {seconds:.1f} s: {last_error}")
        self.attempts = attempts
        self.seconds = seconds
        self.last_error = last_error


class GiveUp(Exception):
    """Raised by a `check` to stop retrying at once (e.g. the container exited)."""


@dataclass(frozen=True)
class Backoff:
    attempts: int = 200
    deadline_seconds: float = 60.0
    first_wait: float = 0.05
    max_wait: float = 1.0
    jitter: float = 0.1

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (the first is 1)."""
        if attempt <= 1:
            return 0.0
        base = min(self.max_wait, self.first_wait * 2.0 ** (attempt - 2))
        # Jitter keeps parallel waiters from hammering a server in lock step.
        spread: float = self.jitter * random.random()  # noqa: S311 - not cryptography
        return base * (1 + spread)


def retry(
    action: Callable[[], T],
    backoff: Backoff = Backoff(),
    *,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    give_up_on: tuple[type[BaseException], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `action` until it returns; raise RetryExhausted when attempts or time run out.

    A `GiveUp` (or a `give_up_on` error) raised by `action` propagates at once.
    """
    started = clock()
    stop_at_once: tuple[type[BaseException], ...] = (GiveUp, *give_up_on)
    attempt = 0
    while True:
        attempt += 1
        wait = backoff.wait_before(attempt)
        remaining = backoff.deadline_seconds - (clock() - started)
        if wait:
            sleep(min(wait, max(remaining, 0.0)))
        try:
            return action()
        except stop_at_once:
            raise
        except retry_on as error:
            elapsed = clock() - started
            if attempt >= backoff.attempts or elapsed >= backoff.deadline_seconds:
                raise RetryExhausted(attempt, elapsed, error) from error
