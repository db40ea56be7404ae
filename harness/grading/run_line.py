"""A student's `docker run` line, as typed in the notes, parsed into a `ContainerSpec`.

Table-driven: each supported flag is one row saying whether it takes a value and what it does.
What a grader must never run (`--privileged`, the Docker socket, host namespaces, capabilities,
devices, paths outside the submission) and any unknown flag are refused with one sentence.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.errors import UsageError
from harness.model.spec import ContainerSpec, Mount, MountKind

SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock")


class Refused(UsageError):
    """The submission asks for something a grader will not run, or cannot read."""


@dataclass(frozen=True)
class RunLine:
    """What the line says: the container's configuration and the flags kept only for reports."""

    spec: ContainerSpec
    restart: str | None = None
    detached: bool = False


@dataclass
class _Reading:
    """The spec being built, plus where relative paths resolve (the submission's scratch copy)."""

    spec: ContainerSpec
    base: Path
    restart: str | None = None
    detached: bool = False
    env: dict[str, str] = field(default_factory=dict)


Apply = Callable[[_Reading, str], None]


def _inside(base: Path, raw: str) -> str:
    """A host path of the line, resolved in the submission; refused when it leaves it."""
    if raw in SOCKET_PATHS or raw.endswith("docker.sock"):
        raise Refused(f"mounting the Docker socket ({raw}) is not allowed in a submission.")
    path = (base / raw).resolve() if not raw.startswith("/") else Path(raw).resolve()
    if not path.is_relative_to(base.resolve()):
        raise Refused(
            f"the host path {raw} lies outside the submission; use a named volume or a "
            "directory inside the submission (./data)."
        )
    return str(path)


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or source in (".", "..")


def _volume(reading: _Reading, value: str) -> None:
    parts = value.split(":")
    if len(parts) == 1:  # `-v /var/lib/mysql`: an anonymous volume
        reading.spec = reading.spec.with_mount(Mount(MountKind.VOLUME, "", parts[0]))
        return
    source, target = parts[0], parts[1]
    read_only = len(parts) > 2 and "ro" in parts[2].split(",")
    if _is_host_path(source):
        mount = Mount(MountKind.BIND, _inside(reading.base, source), target, read_only)
    else:
        mount = Mount(MountKind.VOLUME, source, target, read_only)
    reading.spec = reading.spec.with_mount(mount)


_MOUNT_KEYS = {
    "src": "source", "source": "source", "dst": "target", "destination": "target",
    "target": "target", "type": "type", "readonly": "readonly", "ro": "readonly",
}  # fmt: skip


def _mount(reading: _Reading, value: str) -> None:
    options: dict[str, str] = {}
    for item in value.split(","):
        key, _, item_value = item.partition("=")
        if key not in _MOUNT_KEYS:
            raise Refused(f"--mount option {key!r} is not supported (use type, source, target).")
        options[_MOUNT_KEYS[key]] = item_value or "true"
    kind, target = options.get("type", "volume"), options.get("target")
    if not target:
        raise Refused(f"--mount {value} has no target.")
    read_only = options.get("readonly", "false") in ("true", "1")
    if kind == "tmpfs":
        reading.spec = reading.spec.with_tmpfs(target)
    elif kind == "bind":
        source = _inside(reading.base, options.get("source", ""))
        reading.spec = reading.spec.with_mount(Mount(MountKind.BIND, source, target, read_only))
    elif kind == "volume":
        source = options.get("source", "")
        reading.spec = reading.spec.with_mount(Mount(MountKind.VOLUME, source, target, read_only))
    else:
        raise Refused(f"--mount type={kind} is not supported (volume, bind or tmpfs).")


def _env(reading: _Reading, value: str) -> None:
    key, sep, item_value = value.partition("=")
    # `-e NAME` passes the grader's own variable through: never the grader's environment.
    reading.env[key] = item_value if sep else ""


def _env_file(reading: _Reading, value: str) -> None:
    path = Path(_inside(reading.base, value))
    if not path.is_file():
        raise Refused(f"--env-file {value} is not a file in the submission.")
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            _env(reading, line)


def _publish(reading: _Reading, value: str) -> None:
    container_port = value.rsplit(":", 1)[-1].split("/", maxsplit=1)[0]
    if not container_port.isdigit():
        raise Refused(f"-p {value} does not name a container port.")
    reading.spec = reading.spec.with_ports(int(container_port))


def _tmpfs(reading: _Reading, value: str) -> None:
    reading.spec = reading.spec.with_tmpfs(value.split(":", 1)[0])


def _name(reading: _Reading, value: str) -> None:
    reading.spec = reading.spec.named(value)


def _volumes_from(reading: _Reading, value: str) -> None:
    reading.spec = replace(reading.spec, volumes_from=(*reading.spec.volumes_from, value))


def _restart(reading: _Reading, value: str) -> None:
    reading.restart = value


def _detach(reading: _Reading, value: str) -> None:
    reading.detached = True


def _refuse(reason: str) -> Apply:
    def refuse(reading: _Reading, value: str) -> None:
        raise Refused(reason)

    return refuse


def _refuse_host_namespace(flag: str) -> Apply:
    """Host (or another container's) namespaces are refused; a network of the student's own is
    accepted and not used: each submission runs on the grader's own network."""

    def check(reading: _Reading, value: str) -> None:
        if value == "host" or value.startswith("container:"):
            raise Refused(f"{flag} {value} is not allowed in a submission.")

    return check


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    takes_value: bool
    apply: Apply


FLAGS: tuple[Flag, ...] = (
    Flag(("-d", "--detach"), False, _detach),
    Flag(("--name",), True, _name),
    Flag(("-e", "--env"), True, _env),
    Flag(("--env-file",), True, _env_file),
    Flag(("-v", "--volume"), True, _volume),
    Flag(("--mount",), True, _mount),
    Flag(("--tmpfs",), True, _tmpfs),
    Flag(("-p", "--publish"), True, _publish),
    Flag(("--volumes-from",), True, _volumes_from),
    Flag(("--restart",), True, _restart),
    Flag(("--privileged",), False, _refuse("--privileged is not allowed in a submission.")),
    Flag(("--cap-add",), True, _refuse("--cap-add is not allowed in a submission.")),
    Flag(("--device",), True, _refuse("--device is not allowed in a submission.")),
    Flag(("--security-opt",), True, _refuse("--security-opt is not allowed in a submission.")),
    Flag(("--pid",), True, _refuse_host_namespace("--pid")),
    Flag(("--ipc",), True, _refuse_host_namespace("--ipc")),
    Flag(("--network", "--net"), True, _refuse_host_namespace("--network")),
)
_BY_NAME = {name: flag for flag in FLAGS for name in flag.names}


def _words(text: str) -> list[str]:
    """The line's words: `\\` continuations joined, `#` comments dropped, shell quoting."""
    joined = text.replace("\\\r\n", " ").replace("\\\n", " ")
    try:
        return shlex.split(joined, comments=True)
    except ValueError as error:
        raise Refused(f"the docker run line cannot be read ({error}); check its quotes.") from None


def _split_flag(word: str) -> tuple[str, str | None]:
    """`--env=A=1` -> ("--env", "A=1"); `-eA=1` -> ("-e", "A=1"); `--name` -> ("--name", None)."""
    if word.startswith("--"):
        name, sep, value = word.partition("=")
        return name, value if sep else None
    if len(word) > 2 and word[:2] in _BY_NAME and _BY_NAME[word[:2]].takes_value:
        return word[:2], word[2:]
    return word, None


def parse_run_line(text: str, base: Path) -> RunLine:
    """Parse `docker run ...` (or `docker container run ...`); relative paths resolve in `base`."""
    words = _words(text)
    if words[:2] == ["docker", "run"]:
        words = words[2:]
    elif words[:3] == ["docker", "container", "run"]:
        words = words[3:]
    else:
        raise Refused("run.txt must hold one `docker run ...` command.")
    reading = _Reading(spec=ContainerSpec(image=""), base=base)
    position = 0
    while position < len(words) and words[position].startswith("-"):
        name, value = _split_flag(words[position])
        flag = _BY_NAME.get(name)
        if flag is None:
            raise Refused(f"the flag {name} is not supported in a submission.")
        if flag.takes_value and value is None:
            position += 1
            if position >= len(words):
                raise Refused(f"{name} needs a value.")
            value = words[position]
        flag.apply(reading, value or "")
        position += 1
    if position >= len(words):
        raise Refused("the docker run line names no image.")
    image, command = words[position], tuple(words[position + 1 :])
    spec = replace(reading.spec, image=image, env=reading.env, command=command or None)
    return RunLine(spec=spec, restart=reading.restart, detached=reading.detached)
