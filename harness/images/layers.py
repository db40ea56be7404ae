"""Image layers: which history step made which layer, what a child adds over its base.

Pure logic over what the engine reports (`RootFS.Layers`, the history), so it is testable
without an engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Instructions that change only the image config; they appear in the history with no layer.
_METADATA = frozenset(
    {"LABEL", "CMD", "ENV", "EXPOSE", "VOLUME", "ENTRYPOINT", "USER", "ARG", "STOPSIGNAL",
     "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER", "WORKDIR"}
)  # fmt: skip
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL_RUN = re.compile(r"^(RUN )?(\|\d+ .*?)?/bin/(ba)?sh -c ")
# BuildKit appends a comment naming itself to the RUN steps it records.
_BUILDKIT_NOTE = re.compile(r"\s*# buildkit$")


@dataclass(frozen=True)
class LayerStep:
    """One history entry, oldest first: the instruction and the layer it made (if any)."""

    instruction: str
    size: int
    layer: str | None  # the layer's diff id, None for a metadata-only step


def instruction_of(created_by: str) -> str:
    """`CreatedBy` as the Dockerfile instruction a person wrote.

    The classic builder writes `/bin/sh -c #(nop)  LABEL a=b` for config steps and
    `/bin/sh -c echo ...` for RUN; BuildKit writes `LABEL a=b` and `RUN /bin/sh -c echo ...`.
    """
    text = created_by.strip()
    if _NOP.match(text):
        return _NOP.sub("", text).strip()
    if _SHELL_RUN.match(text):
        return "RUN " + _BUILDKIT_NOTE.sub("", _SHELL_RUN.sub("", text)).strip()
    return text or "(imported)"


def makes_layer(instruction: str) -> bool:
    keyword = instruction.split(" ", 1)[0].upper()
    return keyword not in _METADATA


def steps(history: Sequence[Mapping[str, Any]], layers: Sequence[str]) -> list[LayerStep]:
    """Pair history entries (newest first, as the engine lists them) with the layers.

    When the count of layer-making steps does not match the layers, the pairing is unknown and
    no step claims a layer (better no answer than a wrong one).
    """
    ordered = list(reversed(history))
    instructions = [instruction_of(str(h.get("CreatedBy", ""))) for h in ordered]
    makers = [i for i, text in enumerate(instructions) if makes_layer(text)]
    paired = len(makers) == len(layers)
    layer_of = dict(zip(makers, layers, strict=False)) if paired else {}
    return [
        LayerStep(instruction=text, size=int(ordered[i].get("Size", 0)), layer=layer_of.get(i))
        for i, text in enumerate(instructions)
    ]


def added_layers(image_layers: Sequence[str], base_layers: Sequence[str]) -> list[str]:
    """The layers an image adds over its base; the base's must be a prefix of the image's."""
    if list(image_layers[: len(base_layers)]) != list(base_layers):
        raise ValueError("the image is not built on this base: its first layers differ")
    return list(image_layers[len(base_layers) :])


def chain_hints(instructions: Sequence[str], first_step: int = 1) -> list[str]:
    """Where consecutive RUN instructions could be one RUN chained with `&&`.

    `first_step` is the number of `instructions[0]` in the listing the hints refer to.
    """
    hints = []
    run: list[int] = []
    for index, text in enumerate([*instructions, ""]):
        if text.startswith("RUN "):
            run.append(index)
            continue
        if len(run) > 1:
            first, last = run[0] + first_step, run[-1] + first_step
            hints.append(
                f"steps {first}-{last}: {len(run)} consecutive RUN instructions make "
                f"{len(run)} layers; chained with && in one RUN they make one"
            )
        run = []
    return hints


def short(digest: str | None) -> str:
    if not digest:
        return "-"
    return digest.split(":", 1)[-1][:12]
