"""`make bench-scale`: a class graded in shards, as a course would spread it over machines.

Generates a class of SCALE_STUDENTS submissions (copies of the example lab's samples, each under
its own student id), grades it in SCALE_SHARDS shards one after another on this machine (each
shard is what one machine of a CI matrix would run: `grade --shard K/N --jobs SCALE_JOBS`), then
merges them. Prints and writes, per shard, its students, wall time, students per minute and the
grading process's peak memory; and the merge's time and memory. A benchmark, never a test.

    SCALE_STUDENTS=300   students in the class
    SCALE_SHARDS=3       shards (machines)
    SCALE_JOBS=2         students graded at a time within a shard

Writes `benchmarks/results/grading-scale.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "scenarios" / "labs" / "volumes-101"
RESULT = ROOT / "benchmarks" / "results" / "grading-scale.json"
ENV = {**os.environ, "HARNESS_IMAGES": os.environ.get("HARNESS_IMAGES", "local")}


def make_class(folder: Path, students: int) -> None:
    """`students` submissions, the samples in turn: s0000-ana-full-marks, s0001-ben-...."""
    samples = sorted(p for p in (LAB / "samples").iterdir() if p.is_dir())
    for number in range(students):
        sample = samples[number % len(samples)]
        shutil.copytree(sample, folder / f"s{number:04d}-{sample.name}")


def timed(command: list[str]) -> dict[str, Any]:
    """Wall seconds and peak RSS (MB) of one command, which must succeed (0, or 1 for a class
    below --fail-under, which this never passes)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"bench-scale: `{' '.join(command[:4])} ...` exited {code}:\n{errors}")
    return {"seconds": round(time.monotonic() - started, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}  # fmt: skip


def main() -> int:
    students = int(os.environ.get("SCALE_STUDENTS", "300"))
    shards = int(os.environ.get("SCALE_SHARDS", "3"))
    jobs = int(os.environ.get("SCALE_JOBS", "2"))
    with tempfile.TemporaryDirectory(prefix="harness-scale-") as work:
        folder = Path(work) / "class"
        make_class(folder, students)
        rows: list[dict[str, Any]] = []
        for index in range(1, shards + 1):
            report = Path(work) / f"shard-{index}.json"
            print(f"bench-scale: shard {index}/{shards}...", flush=True)
            row = timed([sys.executable, "-m", "harness", "grade", str(LAB), str(folder),
                         "--jobs", str(jobs), "--shard", f"{index}/{shards}",
                         "--json", str(report)])  # fmt: skip
            given = json.loads(report.read_text())["shard"]["assigned"]
            row |= {"shard": f"{index}/{shards}", "students": given,
                    "students_per_minute": round(given / row["seconds"] * 60, 2)}  # fmt: skip
            rows.append(row)
            print(f"  {row}", flush=True)
        reports = [str(Path(work) / f"shard-{k}.json") for k in range(1, shards + 1)]
        merge = timed([sys.executable, "-m", "harness", "merge", *reports,
                       "--json", str(Path(work) / "merged.json"),
                       "--gradebook", str(Path(work) / "gradebook.csv")])  # fmt: skip
        merged = json.loads((Path(work) / "merged.json").read_text())
        assert len(merged["submissions"]) == students
    result = {"students": students, "shards": shards, "jobs": jobs,
              "machine": f"{os.cpu_count()} cores", "per_shard": rows, "merge": merge,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'shard':<7}{'students':>9}{'seconds':>9}{'per minute':>12}{'peak MB':>9}")
    for row in rows:
        print(f"{row['shard']:<7}{row['students']:>9}{row['seconds']:>9}"
              f"{row['students_per_minute']:>12}{row['peak_rss_mb']:>9}")  # fmt: skip
    print(f"merge: {merge['seconds']} s, {merge['peak_rss_mb']} MB ({RESULT})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
