"""The notes' layer experiments: which instructions add layers, and what containers see."""

from __future__ import annotations

import pytest

from harness.containers.engine import Engine, Session, remove_quietly
from harness.images.experiments import EXP3_VARIANT, EXPERIMENTS
from harness.images.layers import added_layers, steps

pytestmark = pytest.mark.layers


def _layers(engine: Engine, ref: str) -> list[str]:
    return list(engine.client.images.get(ref).attrs["RootFS"]["Layers"])


@pytest.mark.parametrize(
    ("name", "expected"), [(name, e.layers_added) for name, e in EXPERIMENTS.items()]
)
def test_layers_added_over_base(
    name: str,
    expected: int,
    harness_engine: Engine,
    layers_base: str,
    experiment_images: dict[str, str],
) -> None:
    """exp1 adds none, exp2 one (ADD), exp3 three (three RUNs), exp4 one (one chained RUN)."""
    added = added_layers(
        _layers(harness_engine, experiment_images[name]), _layers(harness_engine, layers_base)
    )
    assert len(added) == expected


def test_exp1_layer_list_is_identical_to_base(
    harness_engine: Engine, layers_base: str, experiment_images: dict[str, str]
) -> None:
    """LABEL and CMD change only the config: exp1 has exactly the base's layers."""
    assert _layers(harness_engine, experiment_images["exp1"]) == _layers(
        harness_engine, layers_base
    )


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_label_and_cmd_are_in_history_without_a_layer(
    name: str, harness_engine: Engine, experiment_images: dict[str, str]
) -> None:
    """The history lists LABEL and CMD as steps of size 0 that made no layer."""
    ref = experiment_images[name]
    image = harness_engine.client.images.get(ref)
    history = harness_engine.client.api.history(ref)
    layers = image.attrs["RootFS"]["Layers"]
    image_steps = steps(history, layers)
    # Only when every layer was paired with its step does "no layer" mean anything.
    assert [s.layer for s in image_steps if s.layer] == layers
    for keyword in ("LABEL author=", "CMD "):
        matching = [s for s in image_steps if s.instruction.upper().startswith(keyword.upper())]
        assert matching, f"no {keyword.strip()} step in the history of {ref}"
        assert all(s.layer is None and s.size == 0 for s in matching)
    assert image.attrs["Config"]["Cmd"] == ["sleep", "1d"]
    assert image.attrs["Config"]["Labels"]["author"] in ("khaja", "khaaja")


@pytest.mark.parametrize("name", [n for n, e in EXPERIMENTS.items() if e.files])
def test_container_sees_the_files(
    name: str,
    harness_engine: Engine,
    harness_session: Session,
    experiment_images: dict[str, str],
) -> None:
    """A container of each image sees the files its ADD / RUN steps wrote, with their text."""
    expected = EXPERIMENTS[name].files
    container = harness_engine.client.containers.run(
        experiment_images[name],
        command=["sleep", "60"],
        detach=True,
        labels=harness_session.scoped(f"layers-{name}").labels,
    )
    try:
        for path, text in expected.items():
            result = container.exec_run(["cat", path])
            assert result.exit_code == 0, f"{path} missing in {name}"
            assert result.output.decode() == text
    finally:
        remove_quietly(container.remove, force=True, v=True)


def test_identical_build_steps_share_layers(
    harness_engine: Engine, layers_base: str, experiment_images: dict[str, str]
) -> None:
    """exp3 and a variant with the same first two RUNs share those two layers, not the third."""
    base = _layers(harness_engine, layers_base)
    exp3 = added_layers(_layers(harness_engine, experiment_images["exp3"]), base)
    variant = added_layers(_layers(harness_engine, experiment_images[EXP3_VARIANT.name]), base)
    assert exp3[:2] == variant[:2]
    assert exp3[2] != variant[2]


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_layers_command_shows_added_layers_and_chain_hint(
    name: str,
    layers_base: str,
    experiment_images: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`harness layers IMAGE --base BASE` counts the added layers; exp3 gets a chaining hint."""
    from harness.frontends.cli.main import main  # noqa: PLC0415 - the CLI is what is under test

    assert main(["layers", experiment_images[name], "--base", layers_base]) == 0
    output = capsys.readouterr().out
    assert f", {EXPERIMENTS[name].layers_added} added over the base" in output
    assert ("consecutive RUN instructions" in output) == (name == "exp3")
