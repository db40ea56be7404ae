"""The JSON report of the contract (docs/contracts.md; its schema in docs/schemas/)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.model.cells import ScenarioResult
from harness.model.engine_info import EngineInfo


def to_json(
    engine: EngineInfo,
    images: Mapping[str, str],
    results: Iterable[ScenarioResult],
    durability: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report of docs/contracts.md (extra keys only where a result has more to say);
    `durability` holds crash campaigns' records, and the key is there only when one ran."""
    report: dict[str, Any] = {
        "engine": engine.to_dict(),
        "images": dict(images),
        "results": [r.to_dict() for r in results],
    }
    campaigns = list(durability)
    if campaigns:
        report["durability"] = campaigns
    return report


def write_json(path: Path, report: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """A report that is text (HTML, JUnit, CSV, Markdown), its folder made if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
