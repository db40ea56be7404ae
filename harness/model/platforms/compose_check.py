"""`compose-check`'s reading of a user's compose file: which services are databases, where each
keeps its data, what Compose promises for that storage under each action, and the private copy
the harness runs instead of the user's project.

Pure: the input is the file as `docker compose config --format json` normalises it (env files
merged, paths absolute, every volume in the long form) plus the raw YAML for what normalising
hides (whether a volume's `name:` was written by the user). The expectations come from the same
table as the compose matrix (`harness/model/platforms/compose.py`), so a check and the matrix
never differ.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.outcomes import Outcome
from harness.model.placement import ImageFacts, covering
from harness.model.platforms.compose import COMPOSE_ACTIONS, compose_promise
from harness.model.servers.databases import DATABASES
from harness.model.servers.refusals import mysql_option_refusal, postgres_layout_refusal

# The actions a user's data is expected to survive unless `--must-survive` says otherwise.
DEFAULT_MUST_SURVIVE = ("restart", "stop-start", "kill-start", "force-recreate", "down-up")
# `upgrade` needs a next major version of the user's image, which `upgrade-check` takes.
CHECK_ACTIONS = tuple(name for name, action in COMPOSE_ACTIONS.items() if not action.upgrades)

# Service keys the private copy drops, and why (said in the report when the file has them).
_DROPPED_KEYS = {
    "container_name": "a fixed name would collide with your own project's container",
    "ports": "the harness reaches the database itself (at its address, or a free local port)",
    "depends_on": "only the database service runs",
    "links": "only the database service runs",
    "profiles": "the database service runs whatever its profile",
    "build": "the image is used as it is on the engine (or its stand-in)",
    "network_mode": "the copy runs on a network of its own",
    "pid": "the copy shares nothing with the host",
    "ipc": "the copy shares nothing with the host",
    "privileged": "the harness never runs a database privileged",
    "devices": "the harness gives a database no host devices",
    "volumes_from": "only the database service runs",
}


@dataclass(frozen=True)
class DataHolder:
    """What holds a service's data directory, as the file declares it."""

    storage: str  # a COMPOSE_STORAGE name
    where: str  # "the named volume `data`", for reasons
    volume_key: str | None = None  # the top-level volume, for `named` and `external`
    fixed_name: bool = False  # a named volume with its own `name:` (not the project's prefix)


@dataclass(frozen=True)
class DatabaseService:
    name: str
    database: str
    image: str  # as the file names it
    runs: str  # the image that runs: the file's own, or its stand-in
    data_dir: str
    holder: DataHolder
    # Where a volume keeps the data: the image's VOLUME over the data directory, else it.
    mount_at: str = ""
    # The server's refusal to start, foreseen from the file (PostgreSQL 18 over its old data
    # directory); None when the configuration starts.
    refusal: str | None = None
    # When the stand-in runs another major than the file's image: said in every report, and no
    # refusal is judged across it.
    other_major: str | None = None

    @property
    def stand_in(self) -> bool:
        return self.runs != self.image

    @property
    def volume_target(self) -> str:
        return self.mount_at or self.data_dir


@dataclass(frozen=True)
class Expectation:
    outcome: Outcome
    rule: str  # Compose's rule for the storage and action
    service: DatabaseService

    @property
    def reason(self) -> str:
        """The rule, said of the service: "db keeps /var/lib/mysql in ...: <rule>"."""
        service = self.service
        if self.outcome is Outcome.REFUSED:
            return f"{service.name}: {self.rule}"
        return f"{service.name} keeps {service.data_dir} in {service.holder.where}: {self.rule}"


@dataclass(frozen=True)
class ServiceChoice:
    """Which service to check, which database it runs, and the image that runs for it."""

    name: str
    database: str
    runs: str
    # When the stand-in is another major than the file's image, the sentence that says so.
    other_major: str | None = None


def database_service(
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    choice: ServiceChoice,
    facts: ImageFacts,
    env: Mapping[str, str],
) -> DatabaseService:
    """The service's storage as the file and the image that runs say (`facts`: the image's
    environment and VOLUMEs, read from the engine or from what the harness knows of the
    official images); `env` is the server's environment, secrets read. Both `compose-check`
    and its `--static` reading build the service here."""
    declared = model["services"][choice.name]
    image = str(declared.get("image") or f"(built) {choice.name}")
    directory = data_dir(choice.database, declared, facts.env)
    holder = data_holder(model, raw, choice.name, directory, facts.declared_volumes)
    mount_at = covering(list(facts.declared_volumes), directory) or directory
    refusal = postgres_layout_refusal(
        facts.env, env, mount_targets(declared)
    ) or mysql_option_refusal(choice.database, image, declared.get("command"))
    return DatabaseService(
        choice.name, choice.database, image, choice.runs, directory, holder,
        mount_at, refusal, choice.other_major,
    )  # fmt: skip


def read_text(path: str) -> str | None:
    """A secret file's text for `server_environment`; None when it cannot be read."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


def database_services(
    model: Mapping[str, Any],
    asked: Mapping[str, str | None],
    database_of_image: Callable[[str], str | None],
) -> dict[str, str]:
    """Service -> database: the `asked` services (their database given, else told by their
    image), or else every service whose image runs a known database. Unknown ones: KeyError
    with the service's name, ValueError with the one whose database cannot be told."""
    services: Mapping[str, Any] = model.get("services") or {}
    if asked:
        found = {}
        for name, database in asked.items():
            if name not in services:
                raise KeyError(name)
            told = database or database_of_image(services[name].get("image") or "")
            if told is None:
                raise ValueError(name)
            found[name] = told
        return found
    return {
        name: database
        for name, service in services.items()
        if (database := database_of_image(service.get("image") or "")) is not None
    }


def server_environment(
    model: Mapping[str, Any], service_name: str, read: Callable[[str], str | None]
) -> dict[str, str]:
    """The service's environment as its entrypoint reads it: each `<VARIABLE>_FILE` naming one
    of the service's file secrets becomes `<VARIABLE>` with the file's content (trailing newlines
    dropped, as the official entrypoints' `$(< file)` does), so the harness knows the password
    the server was given. `read` returns a file's text, or None when it cannot be read."""
    service = model["services"][service_name]
    env = {k: str(v) for k, v in (service.get("environment") or {}).items() if v is not None}
    secret_files = {
        str(s.get("target") or f"/run/secrets/{s['source']}"): (model.get("secrets") or {})
        .get(s["source"], {})
        .get("file")
        for s in service.get("secrets") or []
    }
    for variable, path in list(env.items()):
        file = secret_files.get(path) if variable.endswith("_FILE") else None
        content = read(file) if file else None
        if content is not None:
            del env[variable]
            env[variable.removesuffix("_FILE")] = content.rstrip("\n")
    return env


def data_dir(database: str, service: Mapping[str, Any], image_env: Mapping[str, str]) -> str:
    """Where the server keeps its data: `--datadir=` on a MySQL command line, PGDATA for
    PostgreSQL (the service's, else the image's), else the image's default."""
    profile = DATABASES[database]
    command = service.get("command") or []
    for part in command if isinstance(command, list) else str(command).split():
        if str(part).startswith("--datadir="):
            return str(part).split("=", 1)[1].rstrip("/") or "/"
    env = {**image_env, **(service.get("environment") or {})}
    return profile.data_dir_from_image({k: str(v) for k, v in env.items() if v is not None})


def mount_targets(service: Mapping[str, Any]) -> list[str]:
    """Where the service mounts anything: its volumes, binds and tmpfs."""
    targets = [str(m["target"]) for m in service.get("volumes") or []]
    return targets + [str(t).split(":", 1)[0] for t in _as_list(service.get("tmpfs"))]


def data_holder(
    model: Mapping[str, Any],
    raw: Mapping[str, Any],
    service_name: str,
    directory: str,
    image_volumes: tuple[str, ...],
) -> DataHolder:
    """Which of the service's mounts holds `directory` (the deepest that covers it), else the
    image's VOLUME, else the writable layer.

    Docker gives each image VOLUME that no mount sits exactly on an anonymous volume of its
    own, even below a mount of the user's: a `postgres:17` service with a volume at
    /var/lib/postgresql keeps its data in the anonymous volume at /var/lib/postgresql/data."""
    service = model["services"][service_name]
    mounts = {m["target"]: m for m in service.get("volumes") or []}
    tmpfs = [str(t).split(":", 1)[0] for t in _as_list(service.get("tmpfs"))]
    unmounted = [v for v in image_volumes if v not in mounts and v not in tmpfs]
    target = covering([*mounts, *tmpfs, *unmounted], directory)
    if target is None:
        return DataHolder("layer", "its container's writable layer (no volume covers it)")
    if target in unmounted:
        parent = covering([*mounts, *tmpfs], target)
        inside = f", which Docker mounts inside your mount at {parent}" if parent else ""
        return DataHolder("anonymous", f"the image's anonymous volume (VOLUME {target}){inside}")
    if target not in mounts:
        return DataHolder("tmpfs", f"a tmpfs on {target}")
    return _holder_of_mount(mounts[target], model, raw)


def _holder_of_mount(
    mount: Mapping[str, Any], model: Mapping[str, Any], raw: Mapping[str, Any]
) -> DataHolder:
    kind, source, target = mount.get("type"), mount.get("source"), mount["target"]
    if kind == "bind":
        return DataHolder("bind", f"the host directory {source}")
    if kind == "tmpfs":
        return DataHolder("tmpfs", f"a tmpfs on {target}")
    if not source:
        return DataHolder("anonymous-declared", f"an anonymous volume (`- {target}`)")
    declared = (model.get("volumes") or {}).get(source) or {}
    if declared.get("external"):
        return DataHolder("external", f"the external volume {declared.get('name') or source}",
                          volume_key=source)  # fmt: skip
    raw_declared = ((raw.get("volumes") or {}).get(source)) or {}
    fixed = isinstance(raw_declared, dict) and bool(raw_declared.get("name"))
    return DataHolder("named", f"the named volume `{source}`", volume_key=source, fixed_name=fixed)


def expectation(service: DatabaseService, action: str) -> Expectation:
    """What Compose promises for the service's rows under `action`, and why, in its words."""
    holder = service.holder
    if service.refusal:
        return Expectation(Outcome.REFUSED, service.refusal, service)
    promise = compose_promise(holder.storage, action)
    outcome, reason = promise.outcome, promise.reason
    if holder.fixed_name and COMPOSE_ACTIONS[action].renames_project:
        outcome = Outcome.SURVIVES
        reason = "the volume's own `name:` does not depend on the project's, so it is found again"
    return Expectation(outcome, reason, service)


def advice(service: DatabaseService, action: str) -> str:
    """The change to the file that keeps the rows through `action`."""
    storage, directory = service.holder.storage, service.volume_target
    if service.refusal:
        return service.refusal.rpartition("fix: ")[2] or service.refusal
    if storage == "named" and COMPOSE_ACTIONS[action].renames_project:
        return (f"give the volume `{service.holder.volume_key}` a fixed `name:` (or declare it "
                "`external: true`) so another project name finds it")  # fmt: skip
    if storage == "named":
        return (f"`{COMPOSE_ACTIONS[action].summary}` removes named volumes by design; declare "
                f"`{service.holder.volume_key}` `external: true` (made once with `docker volume "
                "create`) if it must survive that")  # fmt: skip
    volume = f"{service.name}-data"
    return (f"keep {directory} in a named volume: add `- {volume}:{directory}` under "
            f"{service.name}'s `volumes:` and `{volume}:` under the top-level "
            "`volumes:`")  # fmt: skip


@dataclass(frozen=True)
class PrivateCopy:
    file: dict[str, Any]
    notes: list[str]  # what the copy does differently from the user's file, in sentences


@dataclass(frozen=True)
class Replacements:
    """What the harness puts in place of the user's things (made by the caller beforehand)."""

    image: str
    publish: str | None  # the `ports:` entry, e.g. `127.0.0.1::3306` (None: no port published)
    labels: Mapping[str, str]
    external_volumes: Mapping[str, str]  # top-level key -> a volume the harness made
    fixed_volume_names: Mapping[str, str]  # top-level key -> a name of the harness's
    bind_sources: Mapping[str, str | None]  # the user's source -> a scratch path (None: drop)
    environment: Mapping[str, str]  # added to the service's environment
    limits: Mapping[str, Any] = field(default_factory=dict)  # service keys set over the file's


def private_copy(model: Mapping[str, Any], service_name: str, put: Replacements) -> PrivateCopy:
    """A project of the one service, which touches nothing of the user's: no fixed container,
    volume or network name, no published host port, no bind of a user's path, and the run's
    labels on everything compose makes."""
    notes: list[str] = []
    service = copy.deepcopy(dict(model["services"][service_name]))
    for key, why in _DROPPED_KEYS.items():
        if service.pop(key, None) not in (None, [], {}, False):
            notes.append(f"{service_name}'s `{key}` is left out: {why}.")
    service["image"] = put.image
    service["pull_policy"] = "never"
    if put.publish:
        service["ports"] = [put.publish]
    service["labels"] = {**(service.get("labels") or {}), **put.labels}
    service["environment"] = {**(service.get("environment") or {}), **put.environment}
    service["volumes"] = _mounts(service.get("volumes") or [], put, notes)
    service.update(put.limits)
    file: dict[str, Any] = {"services": {service_name: service}}
    file["volumes"] = _volumes(model, service["volumes"], put, notes)
    # The copy's own networks (no fixed name, address or alias of the user's network).
    networks = list(service.get("networks") or {"default": None})
    service["networks"] = dict.fromkeys(networks)
    file["networks"] = {name: {"labels": dict(put.labels)} for name in networks}
    for kind in ("secrets", "configs"):
        used = {str(s["source"]) for s in service.get(kind) or []}
        declared = {
            key: {k: v for k, v in value.items() if k != "name"}
            for key, value in (model.get(kind) or {}).items()
            if key in used
        }
        if declared:
            file[kind] = declared
    return PrivateCopy(file, notes)


def _mounts(
    mounts: list[dict[str, Any]], put: Replacements, notes: list[str]
) -> list[dict[str, Any]]:
    kept = []
    for mount in mounts:
        if mount.get("type") == "bind":
            source = str(mount.get("source"))
            scratch = put.bind_sources.get(source)
            if scratch is None:
                notes.append(f"The bind of {source} is left out: it is neither a file nor a "
                             "directory the harness can copy.")  # fmt: skip
                continue
            kept.append({**mount, "source": scratch})
            continue
        kept.append(mount)
    return kept


def _volumes(
    model: Mapping[str, Any], mounts: list[dict[str, Any]], put: Replacements, notes: list[str]
) -> dict[str, Any]:
    used = {str(m["source"]) for m in mounts if m.get("type") == "volume" and m.get("source")}
    volumes: dict[str, Any] = {}
    for key in sorted(used):
        declared = (model.get("volumes") or {}).get(key) or {}
        if key in put.external_volumes:
            volumes[key] = {"external": True, "name": put.external_volumes[key]}
            continue
        if declared.get("driver") or declared.get("driver_opts"):
            notes.append(f"The volume `{key}` runs on the local driver without its driver "
                         "options, so no path of yours is mounted.")  # fmt: skip
        # Without `name:` compose prefixes the key with the copy's own project name.
        volumes[key] = {"labels": {**(declared.get("labels") or {}), **put.labels}}
        if key in put.fixed_volume_names:
            volumes[key]["name"] = put.fixed_volume_names[key]
    return volumes


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
