"""The sdist and the wheel, built as a release would build them: no warning, the license, the
image build contexts with their run bits (the local images' tags hash both), `twine check`, and
a fresh virtual environment outside the checkout that installs the wheel and computes the same
image tags as the checkout."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from packaging_steps import REPO, Dists, clean_environment, fresh_venv

from harness.images.recipes import BASE, CONTEXT_ROOT, DIND, VERSION_IMAGES

# A Python warning category (BuildBackendWarning, SetuptoolsDeprecationWarning), `build`'s own
# form of one (`WARNING <message>`) or a build step's `warning:`; pip's `WARNING:` about this
# machine's index settings is not the project's.
_WARNING = re.compile(r"\w+Warning\b|^\s*warning:|^\s*WARNING\s|deprecated", re.MULTILINE)


def _checkout_contexts() -> dict[str, bool]:
    """Every image context file, by its path in the package -> whether it is executable."""
    return {
        f"harness/images/context/{p.relative_to(CONTEXT_ROOT).as_posix()}": bool(
            p.stat().st_mode & 0o111
        )
        for p in CONTEXT_ROOT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_build_prints_no_warning(built_dists: tuple[Dists, str]) -> None:
    _, output = built_dists
    assert _WARNING.findall(output) == [], output


def test_the_wheel_carries_the_contexts_with_their_run_bits_and_the_license(
    built_dists: tuple[Dists, str],
) -> None:
    dists, _ = built_dists
    with zipfile.ZipFile(dists.wheel) as wheel:
        modes = {i.filename: (i.external_attr >> 16) & 0o111 != 0 for i in wheel.infolist()}
        metadata = next(
            wheel.read(n).decode() for n in wheel.namelist() if n.endswith(".dist-info/METADATA")
        )
    contexts = {name: x for name, x in modes.items() if name.startswith("harness/images/context/")}
    assert contexts == _checkout_contexts()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in modes)
    assert "License-Expression: MIT" in metadata


def test_the_sdist_carries_the_contexts_with_their_run_bits_and_the_license(
    built_dists: tuple[Dists, str],
) -> None:
    dists, _ = built_dists
    with tarfile.open(dists.sdist) as sdist:
        members = {m.name.split("/", 1)[1]: m for m in sdist.getmembers() if "/" in m.name}
    contexts = {
        name: bool(m.mode & 0o111)
        for name, m in members.items()
        if name.startswith("harness/images/context/") and m.isfile()
    }
    assert contexts == _checkout_contexts()
    assert "LICENSE" in members
    pkg_info = sdist_metadata(dists.sdist)
    assert "License-Expression: MIT" in pkg_info


def sdist_metadata(sdist: Path) -> str:
    """The sdist's PKG-INFO, as an index reads it."""
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.count("/") == 1
                     and m.name.endswith("/PKG-INFO")]  # fmt: skip
        handle = archive.extractfile(member)
        assert handle is not None
        return handle.read().decode()


def test_twine_accepts_both(built_dists: tuple[Dists, str]) -> None:
    dists, _ = built_dists
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists.sdist), str(dists.wheel)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_an_installed_wheel_computes_the_checkouts_image_tags(
    built_dists: tuple[Dists, str], tmp_path: Path
) -> None:
    """A user's install builds (and finds) the same images as `make images` here: the tags hash
    the contexts' files and run bits, so a lost file or bit would give other tags."""
    dists, _ = built_dists
    bin_dir = fresh_venv(tmp_path / "venv")
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", str(dists.wheel)], check=True,
                   timeout=600, env=clean_environment())  # fmt: skip
    refs = "from harness.images.recipes import BASE, DIND, VERSION_IMAGES as V\n" + (
        "print(*sorted([BASE.ref, DIND.ref, *(i.ref for i in V.values())]))"
    )
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", refs], cwd=tmp_path, capture_output=True, text=True,
        check=True, timeout=60, env=clean_environment(),
    )  # fmt: skip
    here = sorted([BASE.ref, DIND.ref, *(i.ref for i in VERSION_IMAGES.values())])
    assert done.stdout.split() == here
    assert str(REPO) not in done.stdout
