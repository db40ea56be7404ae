"""The harness's errors: each carries one sentence for the user and an exit code."""

from __future__ import annotations


class HarnessError(Exception):
    """A problem the user can act on; `str(error)` is the sentence to show."""

    exit_code = 1


class EnvironmentProblem(HarnessError):
    """The machine is not ready (no engine, a missing image, a failed build)."""

    exit_code = 2


class UsageError(HarnessError):
    """The user asked for something that does not exist or does not fit."""

    exit_code = 2


class EngineUnavailable(EnvironmentProblem):
    """No container engine answers."""


class ImageMissing(EnvironmentProblem):
    """An image reference is not present on the engine."""


class ImageBuildFailed(EnvironmentProblem):
    """Building a local image failed."""


class EngineRefused(HarnessError):
    """The engine refused to create or start a container as configured (an observation)."""


class NotReady(HarnessError):
    """A database container did not become ready (or exited)."""


class NotRunning(HarnessError):
    """A lifecycle step needs a running container, and the engine says it is not running."""


def described(error: BaseException) -> str:
    """An error in one line for a result: a harness error's own sentence, else its type and
    text (the SDK's and the drivers' errors say little without their type)."""
    return str(error) if isinstance(error, HarnessError) else f"{type(error).__name__}: {error}"
