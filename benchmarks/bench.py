"""`make bench`: how fast the harness is, side by side with the engine's floor and stock
testcontainers, as ratios against the speed targets (issue 12). A benchmark, never a test.

Every measurement of a round runs once per round, in the same order, so a slow moment of the
shared machine touches all of them; each figure is the median over the rounds. Writes
`benchmarks/results/latest.json` and `benchmarks/RESULTS.md`.

    BENCH_REPS=5          rounds of the quick measurements (a, b, c, e, f)
    BENCH_MATRIX_REPS=5   rounds of the full matrices (d), the long part (about 10 min a round)
    BENCH_WORKERS=0,2,4,8 the matrix's pytest-xdist worker counts (0: one process)
    BENCH_MAKE_TEST=1     also time `make test` once (about 20 minutes)

Each matrix round also times `make persistence` (all 80 cells) and each database's cells with
one initialisation per run and without, splitting the machine's CPU between the harness's own
processes, the engine's daemons (dockerd, containerd) and the rest (the servers): issue 24's
ratios.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.platforms.actions import SINGLE_IMAGE_ACTIONS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REPORT = ROOT / "benchmarks" / "RESULTS.md"
# For this process too: stock testcontainers would start its reaper, pulled from a registry
# (none is reachable here); testcontainers reads the variable when it is first imported.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
ENV = {**os.environ, "HARNESS_IMAGES": "local"}
PYTHON = sys.executable
SINGLE_IMAGE_CELLS = 70
# The first measurements, from issue 12 (2-core machine, local images, before any speed work).
BASELINE_CORE_SECONDS_PER_CELL = 2.3


def machine_cpu_seconds() -> float:
    """Core-seconds the whole machine has spent busy (servers in containers included)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def daemon_cpu_seconds() -> float:
    """Core-seconds dockerd and containerd have spent so far (the engine's own work)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # a process that ended meanwhile
        # `pid (name) state ppid ...`: utime and stime are the 14th and 15th fields.
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name in ("dockerd", "containerd"):
            utime, stime = (int(v) for v in rest.split()[11:13])
            total += (utime + stime) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass(frozen=True)
class Usage:
    """What one command cost: wall seconds; core-seconds of the whole machine, of the command's
    own processes (it and the children it waited for: pytest and its workers) and of the
    engine's daemons; and the command's peak RSS (kB)."""

    wall: float
    machine_cpu: float
    own_cpu: float
    daemon_cpu: float
    peak_rss_kb: int

    @property
    def servers_cpu(self) -> float:
        """The rest: the database servers, their shims and the docker CLI of the floor."""
        return self.machine_cpu - self.own_cpu - self.daemon_cpu


def timed_process(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, machine core-seconds and the child's peak RSS (kB) of one command, which
    must succeed."""
    usage = measured_process(command)
    return usage.wall, usage.machine_cpu, usage.peak_rss_kb


def measured_process(command: list[str]) -> Usage:
    """One command's `Usage`; the command must succeed."""
    with tempfile.TemporaryFile() as errors:
        cpu, daemons, started = machine_cpu_seconds(), daemon_cpu_seconds(), time.monotonic()
        process = subprocess.Popen(
            command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=errors
        )
        # wait4, not wait: the resource usage of this child alone (its peak RSS), which
        # includes the children it waited for (pytest-xdist's workers).
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall, cpu = time.monotonic() - started, machine_cpu_seconds() - cpu
        daemons = daemon_cpu_seconds() - daemons
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"bench: `{' '.join(command)}` exited {process.returncode}:\n{tail}")
    own = usage.ru_utime + usage.ru_stime
    return Usage(wall, cpu, own, daemons, usage.ru_maxrss)


@dataclass
class Measure:
    name: str
    samples: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    def add(self, seconds: float, **extra: float) -> None:
        self.samples.append(seconds)
        for key, value in extra.items():
            self.extra.setdefault(key, []).append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def median_of(self, key: str) -> float:
        return statistics.median(self.extra[key])

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": [round(s, 3) for s in self.samples],
            "median": round(self.median, 3),
            **{f"median_{k}": round(statistics.median(v), 3) for k, v in self.extra.items()},
        }


class Bench:
    """The measurements, run round by round."""

    def __init__(self) -> None:
        from harness.containers.engine import Engine  # noqa: PLC0415 - after the env is set
        from harness.containers.run_state import start_run  # noqa: PLC0415
        from harness.images.recipes import DATABASE_IMAGES  # noqa: PLC0415
        from harness.model.servers.credentials import Credentials  # noqa: PLC0415

        self.engine = Engine.connect()
        self.session = start_run(self.engine)
        self.creds = Credentials.random()
        self.images = {db: image.ref for db, image in DATABASE_IMAGES.items()}
        self.measures: dict[str, Measure] = {}
        self.initialised = self._initialise_once()

    def _initialise_once(self) -> Any:
        """The run's initialised images (both flavours), made once as a matrix run makes them;
        their one-time cost is a measurement of its own."""
        from harness.model.platforms.storage import STORAGE_MODES  # noqa: PLC0415
        from harness.model.servers.databases import DATABASES  # noqa: PLC0415
        from harness.persistence.initialised import InitialisedImages  # noqa: PLC0415

        initialised = InitialisedImages(self.creds)
        for database, image in self.images.items():
            started = time.monotonic()
            for storage in ("named", "layer"):
                initialised.image_for(
                    self.engine, self.session, image, DATABASES[database], STORAGE_MODES[storage]
                )
            self.measure(f"initialise once per run {database}").add(time.monotonic() - started)
        return initialised

    def measure(self, name: str) -> Measure:
        return self.measures.setdefault(name, Measure(name))

    def close(self) -> None:
        from harness.containers.run_state import end_run  # noqa: PLC0415

        end_run(self.engine, self.session)
        self.engine.close()

    # (a) the floor, and (b) the harness's same cells

    def floor(self, database: str, storage: str, action: str) -> None:
        command = ["bash", "benchmarks/floor.sh", database, self.images[database], storage, action]
        usage = measured_process(command)
        self.measure(f"floor {database}-{storage}-{action}").add(
            usage.wall, core_seconds=usage.machine_cpu
        )

    # (g) compose-check of a one-service file against one compose cell by hand (issue 38)

    def compose_by_hand(self, database: str) -> None:
        from harness.containers.compose import compose_binary  # noqa: PLC0415

        command = ["bash", "benchmarks/compose_floor.sh", str(compose_binary()), database,
                   self.images[database]]  # fmt: skip
        usage = measured_process(command)
        self.measure(f"compose cell by hand {database}").add(
            usage.wall, core_seconds=usage.machine_cpu
        )

    def compose_check(self, database: str, jobs: int) -> None:
        """`compose-check` of the by-hand cell's service (same image, a named volume over its
        data directory), its 8 default actions, `jobs` at a time."""
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / "compose.yaml"
            image = self.images[database]
            (volume,) = self.engine.image_attrs(image)["Config"]["Volumes"]
            file.write_text(_one_service_file(database, image, volume))
            command = [PYTHON, "-m", "harness", "compose-check", str(file), "--jobs", str(jobs)]
            usage = measured_process(command)
        self.measure(f"compose-check {database} --jobs {jobs}").add(
            usage.wall, core_seconds=usage.machine_cpu
        )

    def harness_process(self, database: str, storage: str, action: str) -> None:
        command = [PYTHON, "-m", "harness", "run", "--database", database, "--storage", storage,
                   "--action", action]  # fmt: skip
        wall, _cpu, _rss = timed_process(command)
        self.measure(f"harness process {database}-{storage}-{action}").add(wall)

    def no_engine(self) -> None:
        """`run` against an address that accepts connections and never answers: how long until
        it says so and exits 2 (the SDK's own timeout would hold it two minutes)."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)
            env = ENV | {"DOCKER_HOST": f"tcp://127.0.0.1:{silent.getsockname()[1]}"}
            started = time.monotonic()
            done = subprocess.run([PYTHON, "-m", "harness", "run", "--database", "mysql"],
                                  cwd=ROOT, env=env, capture_output=True, check=False)  # fmt: skip
            seconds = time.monotonic() - started
        if done.returncode != 2:
            raise SystemExit(f"bench: run without an engine exited {done.returncode}, not 2")
        self.measure("run exits 2 without an engine").add(seconds)

    def harness_in_process(self, database: str, storage: str, action: str) -> None:
        from harness.model.cells import Cell  # noqa: PLC0415
        from harness.persistence.scenario import run_scenario  # noqa: PLC0415

        cell = Cell(database, storage, action)
        started = time.monotonic()
        result = run_scenario(
            self.engine, self.session, cell, self.images[database], self.creds, None,
            self.initialised,
        )  # fmt: skip
        if not result.passed:
            raise SystemExit(f"bench: {result.failure_message()}")
        self.measure(f"harness in-process {cell.id}").add(time.monotonic() - started)

    # (c) start to first query

    def harness_first_query(self, database: str) -> None:
        from harness.containers.database import database_container  # noqa: PLC0415
        from harness.containers.deployment import Deployment  # noqa: PLC0415
        from harness.containers.managed import spec_of  # noqa: PLC0415
        from harness.model.platforms.storage import STORAGE_MODES  # noqa: PLC0415
        from harness.model.servers.databases import DATABASES  # noqa: PLC0415

        profile, anonymous = DATABASES[database], STORAGE_MODES["anonymous"]
        image = self.initialised.image_for(
            self.engine, self.session, self.images[database], profile, anonymous
        )
        session = self.session.scoped(f"first-query-{database}")
        started = time.monotonic()
        with (
            database_container(self.engine, session, image, profile, self.creds) as container,
            Deployment(
                self.engine, session, profile, self.creds, anonymous, container,
                spec_of(container),
            ) as deployment,
        ):  # fmt: skip
            deployment.start_new()
            deployment.connect().close()
            seconds = time.monotonic() - started
        self.measure(f"harness first query {database}").add(seconds)

    def stock_first_query(self, database: str) -> None:
        from testcontainers.community.mysql import MySqlContainer  # noqa: PLC0415
        from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

        image, password = self.images[database], self.creds.password
        labels = {"labels": dict(self.session.labels)}
        started = time.monotonic()
        if database == "mysql":
            mysql = MySqlContainer(image, username="app", password=password, dbname="employees")
            with mysql.with_kwargs(**labels) as container:
                import pymysql  # noqa: PLC0415

                pymysql.connect(
                    host=container.get_container_host_ip(),
                    port=int(container.get_exposed_port(3306)),
                    user="app", password=password, database="employees",
                ).close()  # fmt: skip
                seconds = time.monotonic() - started
        else:
            postgres = PostgresContainer(
                image, username="app", password=password, dbname="employees", driver=None
            )
            with postgres.with_kwargs(**labels) as container:
                import psycopg  # noqa: PLC0415

                psycopg.connect(container.get_connection_url()).close()
                seconds = time.monotonic() - started
        self.measure(f"stock testcontainers first query {database}").add(seconds)

    # (d) the full matrix

    def matrix(self, workers: int, reuse: str = "auto") -> None:
        """The 70 single-image cells: in one process through `harness run` (whose peak RSS is
        the 70-cell memory figure), else through pytest-xdist with `workers` workers; `reuse`
        is `--reuse-init` (the default, auto, reuses for the full matrix)."""
        if workers:
            command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m",
                       "persistence", "-k", "not upgrade", "scenarios/test_persistence.py",
                       "-n", str(workers), "--reuse-init", reuse]  # fmt: skip
        else:
            command = [PYTHON, "-m", "harness", "run", *_action_args(SINGLE_IMAGE_ACTIONS),
                       "--reuse-init", reuse]  # fmt: skip
        usage = measured_process(command)
        cells = SINGLE_IMAGE_CELLS
        suffix = "" if reuse == "auto" else f" reuse-init {reuse}"
        self.measure(f"matrix -n {workers}{suffix}").add(
            usage.wall,
            core_seconds_per_cell=usage.machine_cpu / cells,
            harness_core_seconds_per_cell=usage.own_cpu / cells,
            daemon_core_seconds_per_cell=usage.daemon_cpu / cells,
            peak_rss_mb=usage.peak_rss_kb / 1024,
        )

    def persistence(self, workers: int) -> None:
        """`make persistence` as users run it: every cell of the matrix, upgrades too."""
        command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "persistence",
                   "-n", str(workers), "--dist", "worksteal"]  # fmt: skip
        usage = measured_process(command)
        self.measure(f"make persistence -n {workers}").add(usage.wall)

    def reuse_by_database(self, database: str, workers: int) -> None:
        """One database's single-image cells with one initialisation per run and without: what
        it saves the servers and what it costs the engine's daemons."""
        for reuse in ("on", "off"):
            command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m",
                       "persistence", "-k", f"{database} and not upgrade",
                       "scenarios/test_persistence.py", "-n", str(workers),
                       "--reuse-init", reuse]  # fmt: skip
            usage = measured_process(command)
            self.measure(f"{database} cells reuse-init {reuse}").add(
                usage.wall, servers_core_seconds=usage.servers_cpu,
                daemon_core_seconds=usage.daemon_cpu,
            )  # fmt: skip

    def make_test(self) -> None:
        wall, cpu, _rss = timed_process(["make", "test"])
        self.measure("make test").add(wall, core_seconds=cpu)

    # (e) memory, and (f) grading

    def memory_10_cells(self) -> None:
        command = [PYTHON, "-m", "harness", "run", "--action", "restart"]
        wall, _cpu, rss = timed_process(command)
        self.measure("peak RSS 10 cells").add(rss / 1024, wall_seconds=wall)

    def grading(self, jobs: int) -> None:
        lab = "scenarios/labs/volumes-101"
        command = [PYTHON, "-m", "harness", "grade", lab, f"{lab}/samples", "--jobs", str(jobs)]
        wall, _cpu, _rss = timed_process(command)
        self.measure(f"grading --jobs {jobs}").add(wall)


def _action_args(actions: tuple[str, ...]) -> list[str]:
    return [arg for action in actions for arg in ("--action", action)]


CELLS = [("mysql", "named", "recreate"), ("postgres", "named", "recreate"),
         ("mysql", "layer", "restart"), ("postgres", "layer", "restart")]  # fmt: skip


def _one_service_file(database: str, image: str, volume: str) -> str:
    """The compose file of the by-hand compose cell (benchmarks/compose_floor.sh): a named
    volume at the image's VOLUME."""
    if database == "postgres":
        environment = {"POSTGRES_PASSWORD": "bench-secret", "POSTGRES_USER": "app",
                       "POSTGRES_DB": "employees"}  # fmt: skip
    else:
        prefix = "MARIADB" if database == "mariadb" else "MYSQL"
        environment = {
            f"{prefix}_ROOT_PASSWORD": "bench-secret",
            f"{prefix}_USER": "app",
            f"{prefix}_PASSWORD": "bench-secret",
            f"{prefix}_DATABASE": "employees",
        }
    lines = ["services:", "  db:", f"    image: {image}", "    environment:"]
    lines += [f"      {key}: {value}" for key, value in environment.items()]
    lines += ["    volumes:", f"      - data:{volume}", "volumes:", "  data:", ""]
    return "\n".join(lines)


COMPOSE_DATABASES = ("mysql", "postgres")


def quick_round(bench: Bench) -> None:
    for cell in CELLS:
        bench.floor(*cell)
        bench.harness_process(*cell)
        bench.harness_in_process(*cell)
    for database in ("mysql", "postgres"):
        bench.harness_first_query(database)
        bench.stock_first_query(database)
    for database in COMPOSE_DATABASES:
        bench.compose_by_hand(database)
        bench.compose_check(database, os.cpu_count() or 1)
    bench.memory_10_cells()
    bench.no_engine()
    bench.grading(1)
    bench.grading(2)


@dataclass(frozen=True)
class Ratio:
    what: str
    value: float
    target: float  # the ratio must be at most this
    detail: str

    @property
    def met(self) -> bool:
        return self.value <= self.target


def ratios(measures: dict[str, Measure], default_workers: int) -> list[Ratio]:
    found: list[Ratio] = []

    def add(what: str, value: float, target: float, detail: str) -> None:
        found.append(Ratio(what, value, target, detail))

    for database, storage, action in CELLS:
        cell = f"{database}-{storage}-{action}"
        floor = measures[f"floor {cell}"].median
        for kind in ("process", "in-process"):
            ours = measures[f"harness {kind} {cell}"].median
            add(f"{cell} ({kind}) / floor", ours / floor, 1.0, f"{ours:.2f} s / {floor:.2f} s")
    for database in ("mysql", "postgres"):
        ours = measures[f"harness first query {database}"].median
        stock = measures[f"stock testcontainers first query {database}"].median
        add(f"first query {database} / stock testcontainers", ours / stock, 0.6,
            f"{ours:.2f} s / {stock:.2f} s")  # fmt: skip
    for database in COMPOSE_DATABASES:
        by_hand = measures.get(f"compose cell by hand {database}")
        check = next((m for n, m in measures.items()
                      if n.startswith(f"compose-check {database} --jobs")), None)  # fmt: skip
        if by_hand and check:
            add(f"{check.name} / one compose cell by hand", check.median / by_hand.median, 3.0,
                f"{check.median:.1f} s / {by_hand.median:.1f} s")  # fmt: skip
    silent = measures.get("run exits 2 without an engine")
    if silent:  # a silent engine is said quickly, never after the SDK's two-minute timeout
        add("run without an engine / 10 s", silent.median / 10, 1.0, f"{silent.median:.1f} s")
    serial = measures.get("matrix -n 0")
    if serial:
        small, large = measures["peak RSS 10 cells"].median, serial.median_of("peak_rss_mb")
        add("peak RSS 70 cells / 10 cells", large / small, 1.2, f"{large:.0f} MB / {small:.0f} MB")
    default = measures.get(f"matrix -n {default_workers}")
    if default:
        add(f"matrix -n {default_workers} / 40 s", default.median / 40, 1.0,
            f"{default.median:.0f} s")  # fmt: skip
        per_cell = default.median_of("core_seconds_per_cell")
        add("core-seconds per cell / half of 2.3", per_cell / (BASELINE_CORE_SECONDS_PER_CELL / 2),
            1.0, f"{per_cell:.2f} core-s per cell")  # fmt: skip
    if serial:
        add("matrix serial / 120 s", serial.median / 120, 1.0, f"{serial.median:.0f} s")
    _scale_targets(measures, default_workers, add)
    unreused = measures.get(f"matrix -n {default_workers} reuse-init off")
    if default and unreused:
        # Not a target of the issue: what the means bought, with nothing else changed.
        add(f"matrix -n {default_workers} reuse-init auto / off", default.median / unreused.median,
            1.0, f"{default.median:.0f} s / {unreused.median:.0f} s")  # fmt: skip
    return found


# Issue 24's targets: a cell at half a floor cell's CPU, the matrix within 20 floor cells, the
# harness's own process nearly free, one initialisation per run paying for itself.
FLOOR_CELL = "mysql-named-recreate"  # the floor on the matrix's MySQL server: named volume, rm, run


def _scale_targets(
    measures: dict[str, Measure], workers: int, add: Callable[[str, float, float, str], None]
) -> None:
    floor = measures.get(f"floor {FLOOR_CELL}")
    matrix = measures.get(f"matrix -n {workers}")
    if floor and matrix and "core_seconds" in floor.extra:
        ours, theirs = matrix.median_of("core_seconds_per_cell"), floor.median_of("core_seconds")
        add("all core-s per matrix cell / floor cell's", ours / theirs, 0.5,
            f"{ours:.2f} / {theirs:.2f} core-s")  # fmt: skip
    if matrix and "harness_core_seconds_per_cell" in matrix.extra:
        own = matrix.median_of("harness_core_seconds_per_cell")
        add("harness process core-s per cell / 0.15", own / 0.15, 1.0, f"{own:.3f} core-s")
    persistence = measures.get(f"make persistence -n {workers}")
    if floor and persistence:
        add(f"make persistence -n {workers} / floor cell", persistence.median / floor.median,
            20.0, f"{persistence.median:.0f} s / {floor.median:.2f} s")  # fmt: skip
    for database in ("mysql", "postgres"):
        on, off = (measures.get(f"{database} cells reuse-init {r}") for r in ("on", "off"))
        if not (on and off):
            continue
        extra = on.median_of("daemon_core_seconds") - off.median_of("daemon_core_seconds")
        saved = off.median_of("servers_core_seconds") - on.median_of("servers_core_seconds")
        # Met when the daemons' extra is below the servers' saving (a ratio under 1); a
        # reuse that saves nothing is never met.
        value = extra / saved if saved > 0 else float("inf")
        add(f"reuse-init {database}: daemons' extra / servers' saving", value, 1.0,
            f"{extra:+.1f} / {saved:+.1f} core-s")  # fmt: skip


HISTORY_HEADING = "## Timing history"


def with_history(results: str, previous: str) -> str:
    """The new results, then the timing history the previous file kept (measured by hand over
    the project's rounds: it is not regenerated, only carried)."""
    _, heading, history = previous.partition(HISTORY_HEADING)
    return results.rstrip("\n") + "\n\n" + heading + history if heading else results


def markdown(measures: dict[str, Measure], found: list[Ratio], meta: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {meta['machine']}, {meta['when']}: medians of {meta['reps']} rounds "
        f"({meta['matrix_reps']} for the matrices), interleaved. Regenerate with `make bench`.",
        "",
        "| ratio | value | target | met | from |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.what} | {r.value:.2f}x | <= {r.target:.1f}x | {'yes' if r.met else 'NO'} "
        f"| {r.detail} |"
        for r in found
    ]
    lines += ["", "| measurement | median | samples | more |", "|---|---|---|---|"]
    for m in measures.values():
        unit = "MB" if m.name.startswith("peak RSS") else "s"
        more = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in m.extra.items())
        samples = " ".join(f"{s:.2f}" for s in m.samples)
        lines.append(f"| {m.name} | {m.median:.2f} {unit} | {samples} | {more} |")
    return "\n".join(lines) + "\n"


def _memory_gb() -> float:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30


def main() -> int:
    reps = int(os.environ.get("BENCH_REPS", "5"))
    matrix_reps = int(os.environ.get("BENCH_MATRIX_REPS", "5"))
    workers = [int(w) for w in os.environ.get("BENCH_WORKERS", "0,2,4,8").split(",") if w]
    default_workers = int(os.environ.get("JOBS", "2"))
    bench = Bench()
    try:
        for round_number in range(1, reps + 1):
            print(f"bench: quick round {round_number}/{reps}", flush=True)
            quick_round(bench)
        for round_number in range(1, matrix_reps + 1):
            for count in workers:
                print(f"bench: matrix round {round_number}/{matrix_reps}, -n {count}", flush=True)
                bench.matrix(count)
                if count == default_workers:  # what one initialisation per run saves
                    bench.matrix(count, reuse="off")
            bench.persistence(default_workers)
            for database in ("mysql", "postgres"):
                bench.reuse_by_database(database, default_workers)
        if os.environ.get("BENCH_MAKE_TEST") == "1":
            print("bench: make test", flush=True)
            bench.make_test()
    finally:
        bench.close()
    found = ratios(bench.measures, default_workers)
    meta = {
        "machine": f"{os.cpu_count()} cores, {_memory_gb():.0f} GB",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "reps": reps,
        "matrix_reps": matrix_reps,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({
        "meta": meta,
        "measures": {name: m.to_dict() for name, m in bench.measures.items()},
        "ratios": [{"what": r.what, "value": round(r.value, 3), "target": r.target,
                    "met": r.met, "detail": r.detail} for r in found],
    }, indent=2) + "\n")  # fmt: skip
    history = REPORT.read_text() if REPORT.exists() else ""
    REPORT.write_text(with_history(markdown(bench.measures, found, meta), history))
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
