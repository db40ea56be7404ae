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
