"""One run, several processes: what pytest-xdist's workers take from their controller.

Each worker used to draw its own credentials and so make its own initialised images (about
31 s of CPU per worker for the two databases). The controller draws the credentials once and
hands them, with a shared run for the images (its session and a lock directory), to every
worker; it removes the images when the workers are done. The credentials travel in memory,
over xdist's channel to its own workers: nothing is written or printed.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.model.servers.credentials import Credentials

if TYPE_CHECKING:
    from harness.persistence.initialised import SharedRun

WORKER_INPUT_KEY = "harness_shared_run"


@dataclass(frozen=True)
class FromController:
    creds: Credentials
    run: SharedRun


class ShareWithWorkers:
    """The controller's plugin: the same credentials and shared run for every worker."""

    def __init__(self) -> None:
        self.creds = Credentials.random()
        self.run: SharedRun | None = None

    def _shared_run(self) -> SharedRun:
        if self.run is None:
            from harness.containers.engine import Session  # noqa: PLC0415 - heavy
            from harness.persistence.initialised import SharedRun  # noqa: PLC0415

            directory = Path(tempfile.mkdtemp(prefix="harness-shared-"))
            self.run = SharedRun(Session.new(), directory)
        return self.run

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, on the controller
    def pytest_configure_node(self, node: Any) -> None:
        run = self._shared_run()
        node.workerinput[WORKER_INPUT_KEY] = {
            "creds": asdict(self.creds),
            "session": run.session.id,
            "owner": run.session.owner,
            "directory": str(run.directory),
        }

    def pytest_unconfigure(self) -> None:
        if self.run is None:
            return
        from harness.persistence.initialised import remove_shared_images  # noqa: PLC0415

        try:
            remove_shared_images(self.run)
        finally:
            shutil.rmtree(self.run.directory, ignore_errors=True)


def from_controller(config: pytest.Config) -> FromController | None:
    """In a pytest-xdist worker, what its controller shares; else None."""
    given = getattr(config, "workerinput", {}).get(WORKER_INPUT_KEY)
    if not given:
        return None
    from harness.containers.engine import Session  # noqa: PLC0415 - heavy
    from harness.persistence.initialised import SharedRun  # noqa: PLC0415

    run = SharedRun(Session(given["session"], given["owner"]), Path(given["directory"]))
    return FromController(Credentials(**given["creds"]), run)
