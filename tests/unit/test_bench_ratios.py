"""`make bench`'s arithmetic: each ratio from the right medians, against the right target."""

from __future__ import annotations

from benchmarks.bench import Measure, markdown, ratios


def _measures() -> dict[str, Measure]:
    measures: dict[str, Measure] = {}

    def put(name: str, *samples: float, **extra: list[float]) -> None:
        measure = Measure(name, list(samples), dict(extra))
        measures[name] = measure

    for cell in ("mysql-named-recreate", "postgres-named-recreate", "mysql-layer-restart",
                 "postgres-layer-restart"):  # fmt: skip
        put(f"floor {cell}", 2.0, 2.0, 9.0)  # median 2.0, whatever the outlier
        put(f"harness process {cell}", 3.0)
        put(f"harness in-process {cell}", 1.8)
    put("harness first query mysql", 1.2)
    put("stock testcontainers first query mysql", 2.4)
    put("harness first query postgres", 1.5)
    put("stock testcontainers first query postgres", 2.0)
    put("peak RSS 10 cells", 100.0)
    put("matrix -n 0", 240.0, peak_rss_mb=[110.0], core_seconds_per_cell=[2.0])
    put("matrix -n 2", 80.0, core_seconds_per_cell=[1.15])
    return measures


def test_each_ratio_is_ours_over_the_reference_against_its_target() -> None:
    found = {r.what: r for r in ratios(_measures(), default_workers=2)}
    assert found["mysql-named-recreate (process) / floor"].value == 1.5
    assert found["mysql-named-recreate (in-process) / floor"].value == 0.9
    assert found["mysql-named-recreate (in-process) / floor"].met
    assert not found["mysql-named-recreate (process) / floor"].met
    assert found["first query mysql / stock testcontainers"].value == 0.5
    assert found["first query mysql / stock testcontainers"].met
    assert found["first query postgres / stock testcontainers"].value == 0.75
    assert found["peak RSS 70 cells / 10 cells"].value == 1.1
    assert found["matrix -n 2 / 40 s"].value == 2.0
    assert found["core-seconds per cell / half of 2.3"].value == 1.0
    assert found["matrix serial / 120 s"].value == 2.0


def test_the_markdown_table_says_which_targets_are_met() -> None:
    measures = _measures()
    text = markdown(measures, ratios(measures, 2), {"machine": "m", "when": "w", "reps": 3,
                                                    "matrix_reps": 1})  # fmt: skip
    assert "| first query mysql / stock testcontainers | 0.50x | <= 0.6x | yes |" in text
    assert "| matrix -n 2 / 40 s | 2.00x | <= 1.0x | NO | 80 s |" in text


def test_regenerated_results_keep_the_timing_history() -> None:
    """`make bench` rewrites its tables and carries the hand-kept history below them."""
    from benchmarks.bench import HISTORY_HEADING, with_history  # noqa: PLC0415 - this test only

    previous = f"# Benchmark results\n\nold table\n\n{HISTORY_HEADING}\n\n- CI 1901 s\n"
    written = with_history("# Benchmark results\n\nnew table\n", previous)
    assert written == f"# Benchmark results\n\nnew table\n\n{HISTORY_HEADING}\n\n- CI 1901 s\n"
    assert with_history("# Benchmark results\n", "") == "# Benchmark results\n"


def test_issue_24_ratios_split_the_cpu_between_harness_daemons_and_servers() -> None:
    measures = _measures()

    def put(name: str, *samples: float, **extra: list[float]) -> None:
        measures[name] = Measure(name, list(samples), dict(extra))

    put("floor mysql-named-recreate", 3.0, 3.0, core_seconds=[2.0, 3.0, 2.8])  # median 2.8
    put("matrix -n 2", 80.0, core_seconds_per_cell=[1.4], harness_core_seconds_per_cell=[0.3])
    put("make persistence -n 2", 150.0)
    put("mysql cells reuse-init on", 40.0, servers_core_seconds=[60.0], daemon_core_seconds=[9.0])
    put("mysql cells reuse-init off", 45.0, servers_core_seconds=[70.0], daemon_core_seconds=[4.0])
    put("postgres cells reuse-init on", 40.0, servers_core_seconds=[60.0],
        daemon_core_seconds=[9.0])  # fmt: skip
    put("postgres cells reuse-init off", 45.0, servers_core_seconds=[58.0],
        daemon_core_seconds=[4.0])  # fmt: skip
    found = {r.what: r for r in ratios(measures, default_workers=2)}
    assert found["all core-s per matrix cell / floor cell's"].value == 0.5
    assert found["all core-s per matrix cell / floor cell's"].met
    assert found["harness process core-s per cell / 0.15"].value == 2.0
    assert found["make persistence -n 2 / floor cell"].value == 50.0
    assert not found["make persistence -n 2 / floor cell"].met
    mysql = found["reuse-init mysql: daemons' extra / servers' saving"]
    assert (mysql.value, mysql.met) == (0.5, True)  # 5 core-s more for dockerd, 10 saved
    postgres = found["reuse-init postgres: daemons' extra / servers' saving"]
    assert not postgres.met  # the servers spent more with it: it does not pay for itself


def test_compose_check_is_measured_against_one_compose_cell_by_hand() -> None:
    """Issue 38: a one-service check's 8 actions in at most 3 by-hand compose cells."""
    measures = _measures()
    measures["compose cell by hand mysql"] = Measure("compose cell by hand mysql", [10.0, 12.0])
    measures["compose-check mysql --jobs 2"] = Measure("compose-check mysql --jobs 2", [40.0])
    found = {r.what: r for r in ratios(measures, default_workers=2)}
    ratio = found["compose-check mysql --jobs 2 / one compose cell by hand"]
    assert (ratio.value, ratio.target) == (40.0 / 11.0, 3.0)
    assert not ratio.met
    assert "compose-check postgres --jobs 2 / one compose cell by hand" not in found
