"""Fixtures shared by the scenarios: the layer experiment images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.containers.engine import Engine, Session, remove_quietly
from harness.errors import HarnessError
from harness.frontends.pytest.plugin import exit_on
from harness.images.availability import require_present
from harness.images.experiments import EXP3_VARIANT, EXPERIMENTS, Experiment
from harness.images.recipes import BASE
from harness.images.sources import ImageChoice


@pytest.fixture(scope="session")
def layers_base(pytestconfig: pytest.Config, harness_engine: Engine) -> str:
    """The image the experiments build FROM; override with --layers-base."""
    base = str(pytestconfig.getoption("--layers-base") or BASE.ref)
    origin = "override" if pytestconfig.getoption("--layers-base") else "local"
    try:
        require_present(harness_engine, [ImageChoice("base", base, origin)])
    except HarnessError as error:
        exit_on(error)
    return base


@pytest.fixture(scope="session")
def experiment_images(
    harness_engine: Engine,
    harness_session: Session,
    layers_base: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """exp1-exp4 (and the exp3 variant) built on the base; removed after the session."""
    built: dict[str, str] = {}
    experiments: list[Experiment] = [*EXPERIMENTS.values(), EXP3_VARIANT]
    try:
        for experiment in experiments:
            context = experiment.write_context(
                Path(tmp_path_factory.mktemp(experiment.name)), layers_base
            )
            tag = f"harness-exp/{experiment.name}:{harness_session.id}"
            harness_engine.client.images.build(
                path=str(context), tag=tag, rm=True, forcerm=True, pull=False,
                labels=harness_session.labels,
            )  # fmt: skip
            built[experiment.name] = tag
        yield built
    finally:
        for tag in built.values():
            remove_quietly(harness_engine.client.images.remove, tag, force=True)
