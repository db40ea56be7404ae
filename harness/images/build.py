"""Build the local images: a debootstrapped Debian base, then the database images on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.containers.engine import IMAGE_LABEL, Engine
from harness.errors import ImageBuildFailed
from harness.images.apt_sources import SuiteSource, suite_sources
from harness.images.recipes import IMAGE_NAMES, LocalImage, build_order

Progress = Callable[[str], None]
INPUTS_LABEL = "harness.inputs"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class BuildResult:
    image: LocalImage
    built: bool  # False: the tag already existed, nothing was done
    seconds: float
    size_bytes: int

    def summary(self) -> str:
        action = "built" if self.built else "up to date"
        return (
            f"{self.image.ref:<36} {self.size_bytes / 1e6:>7.0f} MB  "
            f"{action} in {self.seconds:.1f} s"
        )


def ensure_images(
    engine: Engine,
    images: list[LocalImage],
    progress: Progress,
    mirror: str = DEFAULT_MIRROR,
) -> list[BuildResult]:
    """Build whichever of `images` (and their parents) is missing; reuse the rest."""
    results = []
    for image in build_order(images):
        started = time.monotonic()
        built = not engine.has_image(image.ref)
        if built:
            progress(f"{image.name}: building {image.ref}")
            if image.parent is None:  # a Debian base: debootstrapped, then imported
                _build_base(engine, image, progress, mirror)
            else:
                _build_from_dockerfile(engine, image, progress)
            _remove_superseded(engine, image, progress)
        size = int(engine.image_attrs(image.ref).get("Size", 0))
        results.append(BuildResult(image, built, time.monotonic() - started, size))
    _remove_retired(engine, progress)
    return results


def _labels(image: LocalImage) -> dict[str, str]:
    return {IMAGE_LABEL: image.name, INPUTS_LABEL: image.inputs_digest()}


def _require_tool(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ImageBuildFailed(f"`{tool}` is not installed; {hint}")
    return path


@contextmanager
def _scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="harness-rootfs-"))
    try:
        yield path
    finally:
        # Files in a rootfs belong to many users; only root made them and only root removes them.
        shutil.rmtree(path, ignore_errors=True)


def _build_base(engine: Engine, image: LocalImage, progress: Progress, mirror: str) -> None:
    debootstrap = _require_tool(
        "debootstrap",
        "install it (`apt-get install debootstrap`) or use official images (--images official).",
    )
    if os.geteuid() != 0:
        raise ImageBuildFailed(
            "Building the local base image runs debootstrap, which needs root; run "
            "`make images` as root or use official images (--images official)."
        )
    suite = dict(image.settings)["suite"]
    with _scratch_dir() as scratch:
        rootfs = scratch / "rootfs"
        progress(f"{image.name}: debootstrap {suite} from {mirror} (about a minute)")
        _run_with_progress(
            [debootstrap, "--variant=minbase", suite, str(rootfs), mirror, *_script_for(suite)],
            progress,
            prefix=f"{image.name}: ",
            interesting=_is_debootstrap_milestone,
        )
        for source in _configure_rootfs(rootfs, image, suite, mirror):
            if notice := source.notice():
                progress(f"{image.name}: {notice}")
        progress(f"{image.name}: importing the rootfs into the engine")
        with subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        ) as tar:
            repository, tag = image.ref.split(":")
            changes = ['CMD ["bash"]', "ENV LANG=C.UTF-8"] + [
                f"LABEL {key}={value}" for key, value in _labels(image).items()
            ]
            assert tar.stdout is not None
            engine.import_image(tar.stdout, repository, tag, changes)
        if tar.returncode != 0:
            raise ImageBuildFailed("Packing the base rootfs failed; see the tar error above.")


# Every Debian suite since buster is bootstrapped by debootstrap's `sid` script (the others are
# links to it); a debootstrap older than a suite (bookworm's knows no forky) is given that one.
_DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")


def _script_for(suite: str) -> list[str]:
    if (_DEBOOTSTRAP_SCRIPTS / suite).exists() or not (_DEBOOTSTRAP_SCRIPTS / "sid").exists():
        return []
    return [str(_DEBOOTSTRAP_SCRIPTS / "sid")]


def _configure_rootfs(
    rootfs: Path, image: LocalImage, suite: str, mirror: str
) -> list[SuiteSource]:
    """Make the debootstrapped tree behave like a container base image; the apt sources it got."""
    policy = rootfs / "usr/sbin/policy-rc.d"
    shutil.copy(image.context / "policy-rc.d", policy)
    policy.chmod(0o755)
    shutil.copy(image.context / "apt-docker.conf", rootfs / "etc/apt/apt.conf.d/90-docker")
    sources = suite_sources(suite, mirror, datetime.now(UTC))
    (rootfs / "etc/apt/sources.list").write_text("".join(s.line() + "\n" for s in sources))
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    return sources


def _is_debootstrap_milestone(line: str) -> bool:
    """debootstrap prints a line per package; show only the phases."""
    return line.startswith(
        (
            "I: Retrieving Packages",
            "I: Extracting base-files",
            "I: Installing core packages",
            "I: Unpacking the base system",
            "I: Configuring the base system",
            "I: Base system installed",
        )
    )


def _run_with_progress(
    command: list[str], progress: Progress, prefix: str, interesting: Callable[[str], bool]
) -> None:
    tail: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for raw_line in process.stdout:
            line = raw_line.rstrip()
            tail = [*tail[-19:], line]
            if interesting(line):
                progress(prefix + line)
    if process.returncode != 0:
        last = "\n  ".join(tail)
        raise ImageBuildFailed(
            f"`{' '.join(command[:2])}` failed with exit code {process.returncode}; "
            f"check that Debian's mirror is reachable. Last output:\n  {last}"
        )


def _build_from_dockerfile(engine: Engine, image: LocalImage, progress: Progress) -> None:
    assert image.parent is not None
    build_args = {"BASE_IMAGE": image.parent.ref, **dict(image.build_args)}
    # The context is copied whole with the shared files beside it (a build reads one folder).
    with tempfile.TemporaryDirectory(prefix="harness-context-") as context:
        for name, path in image.context_files().items():
            (Path(context) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, Path(context) / name)
        _stream_build(engine, image, context, build_args, progress)


def _stream_build(
    engine: Engine, image: LocalImage, context: str, build_args: dict[str, str], progress: Progress
) -> None:
    tail: list[str] = []
    stream = engine.build_image(
        path=context,
        tag=image.ref,
        buildargs=build_args,
        labels=_labels(image),
        rm=True,
        forcerm=True,
        pull=False,
    )
    for chunk in stream:
        if "error" in chunk:
            last = "\n  ".join(tail[-15:])
            raise ImageBuildFailed(
                f"Building {image.ref} failed: {str(chunk['error']).strip()}\n  {last}"
            )
        text = str(chunk.get("stream", "")).rstrip()
        for line in filter(None, text.splitlines()):
            tail = [*tail[-29:], line]
            if line.startswith(
                (
                    "Step ",
                    "Setting up mariadb-server",
                    "Setting up mysql-server",
                    "Setting up postgresql-",
                )
            ):
                progress(f"{image.name}: {line}")


# The lines of a database image's build worth showing: its steps and its server's package.
_BUILD_MILESTONES = (
    "Step ",
    "Setting up mariadb-server",
    "Setting up mysql-server",
    "Setting up postgresql-",
)


def _remove_superseded(engine: Engine, image: LocalImage, progress: Progress) -> None:
    """Old builds of this image (other inputs) are dead weight once the new one exists."""
    current = image.inputs_digest()
    for image_id, _tags, labels, _size in engine.labelled_images(f"{IMAGE_LABEL}={image.name}"):
        if labels.get(INPUTS_LABEL) != current:
            _remove_unused(engine, image_id, image.name, progress)


def _remove_retired(engine: Engine, progress: Progress) -> None:
    """Builds of a name no recipe has any more (`mysql` before it became `mariadb-10.11`)."""
    for image_id, _tags, labels, _size in engine.labelled_images(IMAGE_LABEL):
        name = labels.get(IMAGE_LABEL, "")
        if name not in IMAGE_NAMES:
            _remove_unused(engine, image_id, name, progress)


def _remove_unused(engine: Engine, image_id: str, name: str, progress: Progress) -> None:
    # Refused while a container or a child image uses it: then it stays.
    if engine.remove_image(image_id, force=False):
        progress(f"{name}: removed superseded build {image_id[7:19]}")
