"""`compose-check`'s reading of a user's file, its expectations, its private copy and its exit
codes, without an engine. The models are what `docker compose config --format json` prints."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UsageError
from harness.frontends.cli.gates.compose_check import parse_actions
from harness.frontends.cli.gates.compose_check_parts import read_compose_file
from harness.frontends.reports.compose_check import CheckEntry, CheckReport
from harness.model.cells import Cell, ScenarioResult
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.platforms.compose_check import (
    CHECK_ACTIONS,
    DatabaseService,
    DataHolder,
    Replacements,
    advice,
    data_dir,
    data_holder,
    database_services,
    expectation,
    private_copy,
    server_environment,
)

MYSQL_VOLUME = ("/var/lib/mysql",)
PG_VOLUME = ("/var/lib/postgresql/data",)


Contract = Callable[[str, Any], None]


def _model(**service: Any) -> dict[str, Any]:
    """A normalised project of one service `db` (and a cache beside it)."""
    db = {"image": "mariadb:11", "environment": {"MARIADB_ROOT_PASSWORD": "pw"}, **service}
    return {
        "name": "shop",
        "services": {"db": db, "cache": {"image": "redis"}},
        "networks": {"default": {"name": "shop_default"}},
        "volumes": {
            "data": {"name": "shop_data"},
            "fixed": {"name": "my-fixed-volume"},
            "outside": {"name": "made-by-hand", "external": True},
            "driven": {"name": "shop_driven", "driver_opts": {"o": "bind", "device": "/home/u"}},
        },
        "secrets": {"dbpw": {"name": "shop_dbpw", "file": "/home/u/pw.txt"}},
    }


def _volume(source: str | None, target: str = "/var/lib/mysql") -> dict[str, Any]:
    mount: dict[str, Any] = {"type": "volume", "target": target}
    if source:
        mount["source"] = source
    return mount


RAW = {"volumes": {"data": None, "fixed": {"name": "my-fixed-volume"}}}


def _holder(image_volumes: tuple[str, ...] = MYSQL_VOLUME, **service: Any) -> DataHolder:
    model = _model(**service)
    directory = data_dir("mysql", model["services"]["db"], {})
    return data_holder(model, RAW, "db", directory, image_volumes)


@pytest.mark.parametrize(
    ("service", "image_volumes", "storage"),
    [
        ({}, MYSQL_VOLUME, "anonymous"),
        ({}, (), "layer"),
        ({"volumes": [_volume(None)]}, (), "anonymous-declared"),
        ({"volumes": [_volume("data")]}, MYSQL_VOLUME, "named"),
        ({"volumes": [_volume("outside")]}, MYSQL_VOLUME, "external"),
        ({"volumes": [{"type": "bind", "source": "/srv/d", "target": "/var/lib/mysql"}]}, (),
         "bind"),
        ({"tmpfs": ["/var/lib/mysql:size=64m"]}, MYSQL_VOLUME, "tmpfs"),
        # A tmpfs on a parent does not cover the image's VOLUME: Docker mounts an anonymous
        # volume inside it (measured: `--tmpfs /var/lib` keeps a volume at /var/lib/mysql).
        ({"volumes": [{"type": "tmpfs", "target": "/var/lib"}]}, MYSQL_VOLUME, "anonymous"),
        # A volume elsewhere does not hold the data; the deepest covering mount does.
        ({"volumes": [_volume("data", "/etc/mysql")]}, MYSQL_VOLUME, "anonymous"),
        ({"volumes": [_volume("data", "/var/lib"), _volume(None)]}, (), "anonymous-declared"),
        ({"command": ["--datadir=/srv/db"], "volumes": [_volume("data")]}, MYSQL_VOLUME, "layer"),
    ],
)  # fmt: skip
def test_each_storage_a_file_can_declare_is_told_apart(
    service: dict[str, Any], image_volumes: tuple[str, ...], storage: str
) -> None:
    assert _holder(image_volumes, **service).storage == storage


def test_a_volume_with_its_own_name_is_told_from_a_project_prefixed_one() -> None:
    assert _holder(volumes=[_volume("fixed")]).fixed_name
    assert not _holder(volumes=[_volume("data")]).fixed_name


def test_the_data_directory_follows_datadir_and_pgdata() -> None:
    assert data_dir("mysql", {"command": ["mariadbd", "--datadir=/srv/db/"]}, {}) == "/srv/db"
    assert data_dir("mysql", {"command": "mariadbd --datadir=/x"}, {}) == "/x"
    assert data_dir("postgres", {"environment": {"PGDATA": "/pg"}}, {"PGDATA": "/img"}) == "/pg"
    assert data_dir("postgres", {}, {"PGDATA": "/img"}) == "/img"
    assert data_dir("postgres", {}, {}) == "/var/lib/postgresql/data"


def test_database_services_are_found_by_image_or_named_by_the_user() -> None:
    model = _model()
    model["services"]["pg"] = {"image": "postgres:16"}
    model["services"]["custom"] = {"image": "acme/db:1"}
    by_name = {"mariadb": "mysql", "postgres": "postgres"}

    def of(image: str) -> str | None:
        return by_name.get(image.split(":", maxsplit=1)[0])

    assert database_services(model, {}, of) == {"db": "mysql", "pg": "postgres"}
    assert database_services(model, {"custom": "postgres"}, of) == {"custom": "postgres"}
    with pytest.raises(KeyError):
        database_services(model, {"nope": None}, of)
    with pytest.raises(ValueError, match="custom"):
        database_services(model, {"custom": None}, of)


def _service(holder: DataHolder, directory: str = "/var/lib/mysql") -> DatabaseService:
    return DatabaseService("db", "mysql", "mariadb:11", "local/mariadb:1", directory, holder)


def test_expectations_name_the_service_its_storage_and_compose_s_rule() -> None:
    anonymous = _service(DataHolder("anonymous", "the image's anonymous volume"))
    lost = expectation(anonymous, "down-up")
    assert lost.outcome is Outcome.LOST
    assert lost.reason.startswith("db keeps /var/lib/mysql in the image's anonymous volume: ")
    assert "new, empty one" in lost.reason
    assert expectation(anonymous, "force-recreate").outcome is Outcome.SURVIVES


def test_a_fixed_volume_name_survives_another_project_name_and_a_prefixed_one_does_not() -> None:
    prefixed = _service(DataHolder("named", "the named volume `data`", "data"))
    fixed = _service(DataHolder("named", "the named volume `fixed`", "fixed", fixed_name=True))
    assert expectation(prefixed, "rename-project").outcome is Outcome.LOST
    assert expectation(fixed, "rename-project").outcome is Outcome.SURVIVES
    assert expectation(fixed, "down-v-up").outcome is Outcome.LOST


def test_advice_names_the_change_that_keeps_the_rows() -> None:
    layer = _service(DataHolder("layer", "its writable layer"))
    assert "`- db-data:/var/lib/mysql` under db's `volumes:`" in advice(layer, "down-up")
    named = _service(DataHolder("named", "the named volume `data`", "data"))
    assert "`external: true`" in advice(named, "down-v-up")
    assert "fixed `name:`" in advice(named, "rename-project")


LABELS = {"harness.session": "s1"}


def _copy(model: dict[str, Any], **overrides: Any) -> tuple[dict[str, Any], list[str]]:
    put = Replacements(
        image="local/mariadb:1",
        publish=overrides.get("publish", "127.0.0.1::3306"),
        labels=LABELS,
        external_volumes=overrides.get("external", {}),
        fixed_volume_names=overrides.get("fixed", {}),
        bind_sources=overrides.get("binds", {}),
        environment={"HARNESS_IMAGE_CONTRACT": "mariadb"},
    )
    made = private_copy(model, "db", put)
    return made.file, made.notes


def test_the_private_copy_keeps_no_name_port_or_path_of_the_user_s() -> None:
    model = _model(
        container_name="shopdb",
        ports=[{"target": 3306, "published": "3306"}],
        depends_on={"cache": {}},
        privileged=True,
        networks={"default": {"aliases": ["database"], "ipv4_address": "10.0.0.5"}},
        secrets=[{"source": "dbpw", "target": "/run/secrets/dbpw"}],
        volumes=[
            _volume("data"),
            _volume("fixed", "/etc/fixed"),
            _volume("outside", "/etc/outside"),
            _volume("driven", "/etc/driven"),
            {"type": "bind", "source": "/home/u/conf", "target": "/etc/mysql/conf.d"},
            {"type": "bind", "source": "/var/run/docker.sock", "target": "/sock"},
        ],
    )
    original = copy.deepcopy(model)
    file, notes = _copy(
        model,
        external={"outside": "harness-made"},
        fixed={"fixed": "harness-fixed"},
        binds={"/home/u/conf": "/scratch/0", "/var/run/docker.sock": None},
    )
    assert model == original  # the user's reading is not changed
    db = file["services"]["db"]
    assert list(file["services"]) == ["db"]
    assert "container_name" not in db
    assert "depends_on" not in db
    assert "privileged" not in db
    assert db["ports"] == ["127.0.0.1::3306"]
    assert db["image"] == "local/mariadb:1"
    assert db["pull_policy"] == "never"
    assert db["labels"] == LABELS
    assert db["environment"]["HARNESS_IMAGE_CONTRACT"] == "mariadb"
    assert db["networks"] == {"default": None}
    assert file["networks"] == {"default": {"labels": LABELS}}
    sources = [m.get("source") for m in db["volumes"]]
    assert sources == ["data", "fixed", "outside", "driven", "/scratch/0"]
    volumes = file["volumes"]
    assert volumes["data"] == {"labels": LABELS}  # compose prefixes it with the copy's project
    assert volumes["fixed"] == {"labels": LABELS, "name": "harness-fixed"}
    assert volumes["outside"] == {"external": True, "name": "harness-made"}
    assert volumes["driven"] == {"labels": LABELS}  # no driver_opts: no device of the user's
    assert file["secrets"] == {"dbpw": {"file": "/home/u/pw.txt"}}
    said = " ".join(notes)
    for left_out in ("container_name", "ports", "depends_on", "privileged", "docker.sock",
                     "driven"):  # fmt: skip
        assert left_out in said


def test_the_private_copy_publishes_nothing_when_reached_at_the_container_s_address() -> None:
    model = _model(ports=[{"target": 3306, "published": "3306"}])
    file, notes = _copy(model, publish=None)
    assert "ports" not in file["services"]["db"]
    assert any("`ports`" in note for note in notes)  # the user's own is still said left out


def test_secrets_given_as_files_are_read_as_the_entrypoint_reads_them() -> None:
    model = _model(
        environment={"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/dbpw", "OTHER_FILE": "/etc/x"},
        secrets=[{"source": "dbpw", "target": "/run/secrets/dbpw"}],
    )
    files = {"/home/u/pw.txt": "s3cret\n\n"}
    assert server_environment(model, "db", files.get) == {
        "MARIADB_ROOT_PASSWORD": "s3cret",
        "OTHER_FILE": "/etc/x",
    }
    # A secret file the harness cannot read stays a file, which the credentials refuse.
    unreadable = server_environment(model, "db", lambda path: None)
    assert unreadable["MARIADB_ROOT_PASSWORD_FILE"] == "/run/secrets/dbpw"


def _entry(action: str, observed: Outcome | None, error: str = "") -> CheckEntry:
    holder = DataHolder("anonymous", "the image's anonymous volume")
    result = ScenarioResult(Cell("mysql", "anonymous", action), Outcome.LOST, "why", observed)
    result.error = error
    return CheckEntry(_service(holder), result)


def test_a_check_without_a_verdict_obeys_the_published_schema(contract: Contract) -> None:
    gone = _entry("restart", None, "the engine stopped answering")
    report = CheckReport(
        "compose.yaml", EngineInfo("docker", "20", "1.41"), "2.40.3", ("restart",), [gone]
    )
    document = report.to_json()
    contract("compose-check", document)
    assert document["results"][0]["observed"] is None
    document["results"][0]["observed"] = "maybe"  # the schema can fail
    with pytest.raises(AssertionError):
        contract("compose-check", document)


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([_entry("restart", Outcome.SURVIVES), _entry("down-v-up", Outcome.LOST)], 0),
        ([_entry("restart", Outcome.SURVIVES), _entry("down-up", Outcome.LOST)], 1),
        ([_entry("restart", None, "the engine stopped answering")], 2),
        ([_entry("restart", None, "gone"), _entry("down-up", Outcome.LOST)], 1),
    ],
)
def test_the_exit_code_follows_the_must_survive_actions(
    entries: list[CheckEntry], code: int
) -> None:
    report = CheckReport("compose.yaml", EngineInfo("docker", "20", "1.41"), "2.40.3",
                         ("restart", "down-up"), entries)  # fmt: skip
    assert report.exit_code() == code


def test_a_lost_must_survive_action_says_the_change_to_make(contract: Contract) -> None:
    report = CheckReport("compose.yaml", EngineInfo("docker", "20", "1.41"), "2.40.3",
                         ("down-up",), [_entry("down-up", Outcome.LOST)])  # fmt: skip
    contract("compose-check", report.to_json())
    (line,) = report.verdict_lines()
    assert line.startswith("db loses its rows on down-up: keep /var/lib/mysql in a named volume")
    (result,) = report.to_json()["results"]
    assert result["id"] == "db-down-up"
    assert result["passed"] is True
    assert result["stand_in"] == "local/mariadb:1"
    assert "advice" in result


def test_bad_yaml_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  db:\n    image: mariadb\n   ports: [1\n")
    with pytest.raises(UsageError, match=r"compose.yaml line 4: .*fix the YAML"):
        read_compose_file(bad)
    bad.write_text("version: '3'\n")
    with pytest.raises(UsageError, match="no `services:`"):
        read_compose_file(bad)
    with pytest.raises(UsageError, match="Cannot read"):
        read_compose_file(tmp_path / "absent.yaml")


def _actions(action: list[str] | None, must: str | None) -> argparse.Namespace:
    return argparse.Namespace(action=action, must_survive=must, on="engine")


def test_must_survive_actions_always_run_and_unknown_ones_are_named() -> None:
    actions, must = parse_actions(_actions(["down-v-up"], "restart,down-up"))
    assert actions == ("restart", "down-up", "down-v-up")
    assert must == ("restart", "down-up")
    assert parse_actions(_actions(None, None))[0] == CHECK_ACTIONS
    with pytest.raises(UsageError, match="'reboot'"):
        parse_actions(_actions(None, "restart,reboot"))
