"""`builds`, `max-layers` and `declares-volume`: the image a submission's Dockerfile builds.

The build runs from a scratch copy whose `FROM mysql|mariadb|postgres` lines point at the
stand-in images; it is bounded in time (a step still running at the deadline has its container
removed, which fails the build), in memory (the engine's build limits) and in output (only the
last lines are kept). The image carries the submission's labels and is removed after grading.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.containers.run_state import RunState
from harness.grading.lab import DeclaresVolumeCheck, MaxLayersCheck
from harness.grading.results import CheckResult, Status
from harness.grading.stand_ins import StandIn
from harness.grading.submission import DOCKERFILE, scratch_copy
from harness.grading.workspace import Workspace, engine_name
from harness.images.layers import added_layers, steps
from harness.model.placement import covers

BUILD_TIMEOUT_SECONDS = 180.0
BUILD_MEMORY_BYTES = 1024**3
KEPT_OUTPUT_LINES = 20
MAX_LINE_CHARS = 300

_RUNNING_IN = re.compile(r"Running in ([0-9a-f]{12,64})")
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_LAST_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.I | re.M)


@dataclass
class Build:
    """What building the submission's Dockerfile gave."""

    image: str | None = None  # the built image's id, None when the build failed
    base: str | None = None  # the final stage's FROM (after the stand-ins)
    problem: str = ""  # why there is no image, in one sentence with the build's last lines
    timed_out: bool = False  # stopped at the time limit: the check could not run (an error)
    stand_ins: list[StandIn] = field(default_factory=list)
    step_images: list[str] = field(default_factory=list)  # to remove after, even on failure


def build(workspace: Workspace) -> Build:
    """Build the submission's Dockerfile; never raises for anything the Dockerfile does."""
    result = Build()
    with scratch_copy(workspace.submission, RunState.of(workspace.session)) as scratch:
        dockerfile = scratch / DOCKERFILE
        text, result.stand_ins = workspace.stand_ins.rewrite_dockerfile(
            dockerfile.read_text(errors="replace")
        )
        dockerfile.write_text(text)
        bases = _LAST_FROM.findall(text)
        result.base = bases[-1] if bases else None
        _run_build(workspace, scratch, result)
    return result


def _run_build(workspace: Workspace, context: Path, result: Build) -> None:
    session = workspace.scope("build")
    tag = f"harness-grading/{engine_name(workspace.submission.student)}:{session.id}"
    stream = workspace.engine.build_image(
        path=str(context),
        tag=tag,
        labels=session.labels,
        rm=True,
        forcerm=True,
        pull=False,
        # No cache: a build never reuses (or later loses) another submission's step images.
        nocache=True,
        container_limits={"memory": BUILD_MEMORY_BYTES, "memswap": BUILD_MEMORY_BYTES},
    )
    reader = _Reader(stream, result)
    thread = threading.Thread(target=reader.read, daemon=True, name="grading-build")
    thread.start()
    thread.join(BUILD_TIMEOUT_SECONDS)
    if thread.is_alive():
        # Removing the running step's container fails the build, which ends the stream.
        for container in list(reader.running):
            workspace.engine.remove_container(container)
        thread.join(30)
        result.timed_out = True
        result.problem = (
            f"the build did not finish within {BUILD_TIMEOUT_SECONDS:.0f} s and was stopped; "
            "make every step end on its own (no servers or waits in RUN)."
        )
        return
    if reader.error:
        result.problem = f"the build failed: {reader.error}" + reader.last_lines()
        return
    if workspace.engine.has_image(tag):
        result.image = str(workspace.engine.image_attrs(tag)["Id"])
        result.step_images.append(tag)
    else:
        result.problem = "the build produced no image." + reader.last_lines()


class _Reader:
    """Consumes the build's progress, keeping only the last lines and what must be cleaned up."""

    def __init__(self, stream: Iterator[dict[str, Any]], result: Build) -> None:
        self.stream = stream
        self.result = result
        self.lines: list[str] = []
        self.running: set[str] = set()
        self.error = ""

    def read(self) -> None:
        try:
            for chunk in self.stream:
                if "error" in chunk:
                    self.error = _clip(str(chunk["error"]).strip())
                for line in str(chunk.get("stream", "")).splitlines():
                    self._note(line)
        except Exception as error:  # the connection broke: that is the build's end too
            self.error = self.error or f"the engine stopped answering ({type(error).__name__})"

    def _note(self, line: str) -> None:
        if not line.strip():
            return
        self.lines = [*self.lines[-(KEPT_OUTPUT_LINES - 1) :], _clip(line)]
        if running := _RUNNING_IN.search(line):
            self.running.add(running[1])
        elif step := _STEP_IMAGE.match(line):
            self.result.step_images.append(step[1])

    def last_lines(self) -> str:
        return "\n" + "\n".join(self.lines[-8:]) if self.lines else ""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + "..."


def remove_build(workspace: Workspace, result: Build) -> None:
    """The image, then the steps' untagged images (a failed build leaves its finished steps
    behind). A tagged step image is a base, the stand-in itself: never touched."""
    engine = workspace.engine
    for image in reversed(result.step_images):
        if image.startswith("harness-grading/"):
            engine.remove_image(image, force=False)
        else:
            engine.remove_untagged_image(image)


# The checks


def grade_builds(check_id: str, points: float, hint: str, result: Build) -> CheckResult:
    if result.image is None:
        return CheckResult(
            check_id, points, _no_image_status(result), _sentence(result.problem), hint
        )
    based = f" (FROM {_stand_in_note(result)})" if result.stand_ins else ""
    return CheckResult(check_id, points, Status.PASSED, f"The Dockerfile builds{based}.")


def grade_max_layers(check: MaxLayersCheck, result: Build, workspace: Workspace) -> CheckResult:
    if result.image is None or result.base is None:
        return _needs_build(check.id, check.points, check.hint, result)
    engine = workspace.engine
    image = engine.image_attrs(result.image)
    layers = image["RootFS"].get("Layers") or []
    try:
        base_layers = (
            [] if result.base == "scratch" else engine.image_attrs(result.base)["RootFS"]["Layers"]
        )
        added = added_layers(layers, base_layers)
    except Exception:  # a stage name, or a base the engine cannot show
        message = f"Cannot count the layers over {result.base}; build FROM an image, not a stage."
        return CheckResult(check.id, check.points, Status.ERROR, message, check.hint)
    history = engine.image_history(result.image)
    made = [s.instruction for s in steps(history, layers) if s.layer in set(added)]
    listing = "; ".join(_clip(i) for i in made)
    if len(added) <= check.max:
        message = f"The Dockerfile adds {len(added)} layer(s) over its base (at most {check.max})."
        return CheckResult(check.id, check.points, Status.PASSED, message)
    message = (
        f"The Dockerfile adds {len(added)} layers over its base, more than {check.max}: {listing}."
    )
    return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)


def grade_declares_volume(
    check: DeclaresVolumeCheck, result: Build, workspace: Workspace
) -> CheckResult:
    if result.image is None:
        return _needs_build(check.id, check.points, check.hint, result)
    engine = workspace.engine
    declared = sorted(engine.image_attrs(result.image)["Config"].get("Volumes") or {})
    if check.own:
        declared = _own_volumes(workspace, result)
    covering = [path for path in declared if covers(path, check.path)]
    whose = "The Dockerfile" if check.own else "The image"
    if covering:
        message = f"{whose} declares VOLUME {covering[0]}, which covers {check.path}."
        return CheckResult(check.id, check.points, Status.PASSED, message)
    shown = ", ".join(declared) or "none"
    message = (
        f"{whose} declares no volume covering {check.path} (declared: {shown}); add "
        f"`VOLUME {check.path}` to the Dockerfile."
    )
    return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)


def _own_volumes(workspace: Workspace, result: Build) -> list[str]:
    """The paths of the VOLUME instructions the Dockerfile itself adds over its base."""
    assert result.image is not None
    engine = workspace.engine
    history = engine.image_history(result.image)
    base_steps = (
        len(engine.image_history(result.base)) if result.base not in (None, "scratch") else 0
    )
    own = steps(history, engine.image_attrs(result.image)["RootFS"].get("Layers") or [])[
        base_steps:
    ]
    paths: list[str] = []
    for step in own:
        keyword, _, rest = step.instruction.partition(" ")
        if keyword.upper() == "VOLUME":
            paths.extend(re.findall(r"[^\s\[\],\"]+", rest))
    return sorted(set(paths))


def _needs_build(check_id: str, points: float, hint: str, result: Build) -> CheckResult:
    message = f"Needs an image, but {result.problem or 'the Dockerfile did not build.'}"
    return CheckResult(check_id, points, _no_image_status(result), _sentence(message), hint)


def _no_image_status(result: Build) -> Status:
    return Status.ERROR if result.timed_out else Status.FAILED


def _stand_in_note(result: Build) -> str:
    return ", ".join(s.describe() for s in result.stand_ins)


def _sentence(text: str) -> str:
    first, _, rest = text.partition("\n")
    first = first[:1].upper() + first[1:]
    return first + ("\n" + rest if rest else "")
