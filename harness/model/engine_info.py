"""Which engine answered: its kind and versions, read from the `/version` answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineInfo:
    name: str
    version: str
    api_version: str

    def api_at_least(self, version: str) -> bool:
        return version_tuple(self.api_version) >= version_tuple(version)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "api_version": self.api_version}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def identify(version_payload: Mapping[str, Any]) -> EngineInfo:
    """Engine kind and versions from the `/version` answer (Docker or Podman)."""
    components = version_payload.get("Components") or []
    is_podman = any("podman" in str(c.get("Name", "")).lower() for c in components)
    return EngineInfo(
        name="podman" if is_podman else "docker",
        version=str(version_payload.get("Version", "unknown")),
        api_version=str(version_payload.get("ApiVersion", "unknown")),
    )
