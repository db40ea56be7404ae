"""The notes' `docker volume` experiments, through the engine API, with evidence."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

import docker.errors
import pytest
from docker.models.containers import Container
from docker.types import Mount

from harness.containers.database import running_database
from harness.containers.engine import Engine, Session
from harness.containers.managed import ManagedContainer
from harness.containers.readiness import wait_until_ready
from harness.errors import NotReady
from harness.model.outcomes import Outcome
from harness.model.placement import ImageFacts
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.servers.persons import PERSONS_ROWS, observe, write_persons
from harness.model.spec import Mount as SpecMount
from harness.model.spec import MountKind

pytestmark = pytest.mark.volumes


def _volume(engine: Engine, session: Session, suffix: str = "vol") -> str:
    name = f"harness-{session.id}-{session.scope}-{suffix}"
    return str(engine.client.volumes.create(name=name, labels=session.labels).name)


def _sleeper(
    engine: Engine, session: Session, image: str, volume: str, *, read_only: bool = False
) -> Container:
    return engine.client.containers.run(
        image,
        command=["sleep", "120"],
        detach=True,
        labels=session.labels,
        mounts=[Mount(target="/data", source=volume, type="volume", read_only=read_only)],
    )


def _sh(container: Container, script: str) -> tuple[int, str]:
    result = container.exec_run(["sh", "-c", script])
    return int(result.exit_code), result.output.decode(errors="replace")


def test_create_inspect_ls_rm(harness_engine: Engine, harness_test_session: Session) -> None:
    """create makes a local volume, inspect describes it, ls finds it, rm removes it."""
    name = _volume(harness_engine, harness_test_session)
    attrs = harness_engine.client.volumes.get(name).attrs
    assert (attrs["Name"], attrs["Driver"]) == (name, "local")
    assert attrs["Mountpoint"].endswith(f"/volumes/{name}/_data")
    listed = harness_engine.client.volumes.list(
        filters={"label": harness_test_session.label_filters}
    )
    assert [v.name for v in listed] == [name]
    harness_engine.client.volumes.get(name).remove()
    with pytest.raises(docker.errors.NotFound):
        harness_engine.client.volumes.get(name)


def test_prune_removes_unused_volumes_and_keeps_used_ones(
    harness_engine: Engine, harness_test_session: Session, layers_base: str
) -> None:
    """prune removes the volume no container uses and keeps the one a container uses."""
    unused = _volume(harness_engine, harness_test_session, "unused")
    used = _volume(harness_engine, harness_test_session, "used")
    _sleeper(harness_engine, harness_test_session, layers_base, used).stop(timeout=1)
    label_filters = harness_test_session.label_filters
    filters: dict[str, object] = {"label": label_filters}
    if harness_engine.info.api_at_least("1.42"):
        filters["all"] = "true"  # since API 1.42 prune spares named volumes without it
    pruned = harness_engine.client.volumes.prune(filters=filters)
    assert unused in (pruned.get("VolumesDeleted") or [])
    names = {v.name for v in harness_engine.client.volumes.list(filters={"label": label_filters})}
    assert names == {used}


def test_mountpoint_holds_the_bytes_a_container_wrote(
    harness_engine: Engine, harness_test_session: Session, layers_base: str
) -> None:
    """The Mountpoint that inspect reports is where the bytes are, on the engine's host."""
    volume = _volume(harness_engine, harness_test_session)
    mountpoint = Path(harness_engine.client.volumes.get(volume).attrs["Mountpoint"])
    local_engine = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
    if not local_engine or not os.access(mountpoint, os.R_OK):
        pytest.skip("the engine's files are not readable from here (remote engine or not root)")
    payload = "written in a container \u2713\n"
    container = _sleeper(harness_engine, harness_test_session, layers_base, volume)
    code, _ = _sh(container, f"printf '%s' '{payload}' > /data/evidence.txt")
    assert code == 0
    assert (mountpoint / "evidence.txt").read_text() == payload


def test_image_volume_gives_each_container_an_anonymous_volume(
    harness_engine: Engine, harness_test_session: Session, harness_images: dict[str, str]
) -> None:
    """Creating a container from an image with VOLUME creates an anonymous volume for it."""
    container = harness_engine.client.containers.create(
        harness_images["mysql"], labels=harness_test_session.labels
    )
    container.reload()
    mounts = [m for m in container.attrs["Mounts"] if m["Type"] == "volume"]
    declared = harness_engine.client.images.get(harness_images["mysql"]).attrs["Config"]["Volumes"]
    assert {m["Destination"] for m in mounts} == set(declared)
    for mount in mounts:
        assert len(mount["Name"]) == 64  # a generated id: nobody named it
        assert harness_engine.client.volumes.get(mount["Name"]).attrs["Labels"] in (None, {})
    container.remove(v=True)
    for mount in mounts:
        with pytest.raises(docker.errors.NotFound):
            harness_engine.client.volumes.get(mount["Name"])


def test_two_running_containers_share_one_volume(
    harness_engine: Engine, harness_test_session: Session, layers_base: str
) -> None:
    """The second container sees the first's writes; a read-only mount refuses writes."""
    volume = _volume(harness_engine, harness_test_session)
    writer = _sleeper(harness_engine, harness_test_session, layers_base, volume)
    reader = _sleeper(harness_engine, harness_test_session, layers_base, volume)
    assert _sh(writer, "echo shared > /data/note.txt")[0] == 0
    assert _sh(reader, "cat /data/note.txt") == (0, "shared\n")
    viewer = _sleeper(harness_engine, harness_test_session, layers_base, volume, read_only=True)
    code, output = _sh(viewer, "echo nope > /data/other.txt")
    assert code != 0
    assert "Read-only file system" in output
    assert _sh(viewer, "cat /data/note.txt") == (0, "shared\n")


def test_volume_in_use_cannot_be_removed(
    harness_engine: Engine, harness_test_session: Session, layers_base: str
) -> None:
    """rm of a volume a container uses is refused (409) and the data stays."""
    volume = _volume(harness_engine, harness_test_session)
    container = _sleeper(harness_engine, harness_test_session, layers_base, volume)
    assert _sh(container, "echo keep > /data/keep.txt")[0] == 0
    with pytest.raises(docker.errors.APIError) as refused:
        harness_engine.client.volumes.get(volume).remove()
    assert refused.value.status_code == 409
    assert "in use" in str(refused.value)
    assert _sh(container, "cat /data/keep.txt") == (0, "keep\n")


@pytest.mark.mysql
@pytest.mark.postgres
def test_mysql_volume_given_to_postgres_fails_clearly_and_keeps_mysql_data(
    harness_engine: Engine,
    harness_test_session: Session,
    harness_images: dict[str, str],
    harness_credentials: Credentials,
) -> None:
    """PostgreSQL refuses a MySQL data volume with a clear error; MySQL reads its rows after."""
    volume = _volume(harness_engine, harness_test_session)

    # The volume sits at each image's own data directory (PostgreSQL 18's is
    # /var/lib/postgresql/18/docker: a mount at .../data would be refused before initdb looks).
    def data_dir(database: str) -> str:
        config = harness_engine.image_attrs(harness_images[database])["Config"]
        facts = ImageFacts.from_config(harness_images[database], config)
        return DATABASES[database].data_dir_from_image(facts.env)

    def start(database: str) -> AbstractContextManager[ManagedContainer]:
        return running_database(
            harness_engine,
            harness_test_session,
            harness_images[database],
            DATABASES[database],
            harness_credentials,
            mounts=(SpecMount(MountKind.VOLUME, volume, data_dir(database)),),
        )

    mysql, postgres = DATABASES["mysql"], DATABASES["postgres"]
    with start("mysql") as first:
        connection = wait_until_ready(first, mysql, harness_credentials)
        write_persons(connection)
        connection.close()
        first.stop()

    with start("postgres") as intruder, pytest.raises(NotReady) as failure:
        wait_until_ready(intruder, postgres, harness_credentials)
    message = str(failure.value)
    assert "exited before it answered" in message
    assert "exists but is not empty" in message
    assert harness_credentials.password not in message

    with start("mysql") as again:
        seen = observe(
            mysql.classify_missing, lambda: wait_until_ready(again, mysql, harness_credentials)
        )
    assert (seen.outcome, seen.rows_read) == (Outcome.SURVIVES, len(PERSONS_ROWS))


def test_inspect_command_passes_local_images_and_fails_an_image_without_volume(
    harness_images: dict[str, str], layers_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness inspect` exits 0 when VOLUME covers the data dir, 1 when nothing does."""
    from harness.frontends.cli.main import main  # noqa: PLC0415 - the CLI is what is under test

    for database, ref in harness_images.items():
        assert main(["inspect", ref]) == 0, capsys.readouterr().out
        assert f"database          {database}" in capsys.readouterr().out
    assert main(["inspect", layers_base, "--database", "mysql"]) == 1
    assert "covered           NO" in capsys.readouterr().out
