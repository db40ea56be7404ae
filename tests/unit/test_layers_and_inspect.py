"""Layer pairing, chain hints and the image volume check, from made-up engine answers."""

from __future__ import annotations

import pytest

from harness.images.inspect import check_image, detect_database
from harness.images.layers import added_layers, chain_hints, instruction_of, steps
from harness.model.placement import ImageFacts

# `docker history` of exp3 on Engine 20.10 (classic builder), newest first.
EXP3_HISTORY = [
    {"CreatedBy": '/bin/sh -c #(nop)  CMD ["sleep" "1d"]', "Size": 0},
    {"CreatedBy": '/bin/sh -c echo "three" > 3.txt', "Size": 6},
    {"CreatedBy": '/bin/sh -c echo "two" > 2.txt', "Size": 4},
    {"CreatedBy": '/bin/sh -c echo "one" > 1.txt', "Size": 4},
    {"CreatedBy": "/bin/sh -c #(nop)  LABEL author=khaaja", "Size": 0},
    {"CreatedBy": "", "Size": 117_000_000},
]
EXP3_LAYERS = ["sha256:base", "sha256:one", "sha256:two", "sha256:three"]


def test_instruction_of_classic_and_buildkit() -> None:
    """Both builders' CreatedBy texts read as the Dockerfile instruction."""
    assert instruction_of("/bin/sh -c #(nop)  LABEL author=khaja") == "LABEL author=khaja"
    assert instruction_of("/bin/sh -c #(nop) ADD file:abc in / ") == "ADD file:abc in /"
    assert instruction_of('/bin/sh -c echo "one" > 1.txt') == 'RUN echo "one" > 1.txt'
    buildkit = 'RUN /bin/sh -c echo "one" > 1.txt # buildkit'
    assert instruction_of(buildkit) == 'RUN echo "one" > 1.txt'
    assert instruction_of("RUN |1 PG_MAJOR=15 /bin/sh -c apt-get update") == "RUN apt-get update"
    assert instruction_of("") == "(imported)"


def test_steps_pair_layers_with_the_steps_that_made_them() -> None:
    """LABEL and CMD make no layer; the import and each RUN make one, in order."""
    paired = steps(EXP3_HISTORY, EXP3_LAYERS)
    assert [(s.instruction.split(" ")[0], s.layer) for s in paired] == [
        ("(imported)", "sha256:base"),
        ("LABEL", None),
        ("RUN", "sha256:one"),
        ("RUN", "sha256:two"),
        ("RUN", "sha256:three"),
        ("CMD", None),
    ]


def test_steps_claim_no_layer_when_counts_disagree() -> None:
    """A history that does not pair one to one gives no layer column rather than a wrong one."""
    assert all(s.layer is None for s in steps(EXP3_HISTORY, EXP3_LAYERS[:2]))


def test_added_layers_and_foreign_base() -> None:
    """What an image adds is what follows its base's layers; a different base is an error."""
    assert added_layers(EXP3_LAYERS, ["sha256:base"]) == EXP3_LAYERS[1:]
    assert added_layers(["sha256:base"], ["sha256:base"]) == []
    with pytest.raises(ValueError, match="not built on this base"):
        added_layers(EXP3_LAYERS, ["sha256:other"])


def test_chain_hint_for_consecutive_runs_only() -> None:
    """Three RUNs in a row get a hint; a single RUN does not."""
    hints = chain_hints(["LABEL a=b", "RUN one", "RUN two", "RUN three", "CMD x", "RUN four"])
    assert len(hints) == 1
    assert hints[0].startswith("steps 2-4: 3 consecutive RUN")
    assert chain_hints(["RUN a", "RUN b"], first_step=3)[0].startswith("steps 3-4:")


def _facts(
    env: dict[str, str], volumes: tuple[str, ...], ports: tuple[str, ...] = ()
) -> ImageFacts:
    return ImageFacts(ref="img", env=env, declared_volumes=volumes, cmd=(), exposed_ports=ports)


def test_detect_database_from_env_and_ports() -> None:
    """PGDATA or 5432 means postgres; MYSQL_MAJOR or 3306 means mysql; else unknown."""
    assert detect_database(_facts({"PGDATA": "/d"}, ())) == "postgres"
    assert detect_database(_facts({}, (), ("3306/tcp",))) == "mysql"
    assert detect_database(_facts({"MYSQL_MAJOR": "8.4"}, ())) == "mysql"
    assert detect_database(_facts({}, ())) is None


def test_official_postgres_17_is_covered_and_warns_about_parent_mount() -> None:
    """postgres:17: PGDATA under its VOLUME; the trap is a mount at /var/lib/postgresql."""
    check = check_image(
        _facts(
            {"PGDATA": "/var/lib/postgresql/data", "PG_MAJOR": "17"}, ("/var/lib/postgresql/data",)
        ),
        "postgres",
    )
    assert check.covered
    assert check.covering_volume == "/var/lib/postgresql/data"
    assert len(check.notes) == 1
    assert "does not persist for postgres <= 17" in check.notes[0]


def test_postgres_18_is_covered_by_parent_volume_and_warns_about_old_path() -> None:
    """postgres:18 keeps PGDATA below VOLUME /var/lib/postgresql."""
    check = check_image(
        _facts(
            {"PGDATA": "/var/lib/postgresql/18/docker", "PG_MAJOR": "18"}, ("/var/lib/postgresql",)
        ),
        "postgres",
    )
    assert check.covering_volume == "/var/lib/postgresql"
    assert "refuses a mount at /var/lib/postgresql/data" in " ".join(check.notes)


def test_image_without_volume_is_not_covered() -> None:
    """A MySQL image that declares no VOLUME fails the check and says why."""
    check = check_image(_facts({}, ()), "mysql")
    assert not check.covered
    assert any("NO:" in line for line in check.lines())
