"""Grading: every check of a lab on every submission, one submission never stopping another.

Each submission gets its own labels (a scope of the run's session) and its own network; what it
made is swept when it is done, and the whole session when grading ends, even on Ctrl-C.
Students are graded one after another, or several at a time with `jobs` > 1.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.containers.engine import Engine, Session, sweep
from harness.containers.engine_watch import ENGINE_RETURN_SECONDS, EngineWatch, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.errors import described
from harness.grading import dockerfile
from harness.grading.answers import grade_answer, read_answers
from harness.grading.compose_submission import (
    COMPOSE_FILES,
    ComposeUngradable,
    GradedProject,
    compose_file_of,
    grade_project_survival,
    prepare_project,
)
from harness.grading.lab import (
    AnswerCheck,
    BuildsCheck,
    Check,
    DeclaresVolumeCheck,
    Lab,
    MaxLayersCheck,
    SurvivalCheck,
)
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult
from harness.grading.run_line import Refused, parse_run_line
from harness.grading.stand_ins import StandIns
from harness.grading.submission import DOCKERFILE, RUN_FILE, Submission
from harness.grading.survival import GradedContainer, Ungradable, grade_survival, prepare
from harness.grading.workspace import GradingCancelled, Workspace, engine_name
from harness.model.faults import CellSteps
from harness.persistence.fault_causes import failure_cause

# Called once per check as it is graded (for a progress bar); may be called from worker threads.
OnCheck = Callable[[Submission, CheckResult], None]

_DOCKERFILE_KINDS = (BuildsCheck, MaxLayersCheck, DeclaresVolumeCheck)


def grade_lab(
    lab: Lab,
    submissions: Sequence[Submission],
    engine: Engine,
    stand_ins: StandIns,
    *,
    jobs: int = 1,
    on_check: OnCheck | None = None,
    say: Callable[[str], None] = say_on_stderr,
    engine_wait: float = ENGINE_RETURN_SECONDS,
) -> LabResult:
    """Every submission's result, in the order given; nothing labelled is left after. When the
    engine goes away, grading waits for it (bounded, `say`ing so); the checks it cannot run
    get an error with that cause, and every other student is graded."""
    session = start_run(engine)
    cancelled = threading.Event()
    report = on_check or (lambda submission, result: None)
    watch = EngineWatch(engine, say, engine_wait)
    engine_gone = _shared_watch(watch)

    def one(submission: Submission) -> SubmissionResult:
        return grade_submission(
            lab, submission, engine, session, stand_ins, cancelled, report, engine_gone
        )

    try:
        if jobs <= 1:
            results = [one(s) for s in submissions]
        else:
            results = _in_parallel(one, submissions, jobs, cancelled)
    finally:
        end_run_or_say(engine, session, say, watch.wait_at_end)
    return LabResult(lab.title, lab.max_score, tuple(results))


def _shared_watch(watch: EngineWatch) -> Callable[[], str]:
    """The watch for every grading thread: one waits for the engine, the others wait for it."""
    lock = threading.Lock()

    def engine_gone() -> str:
        with lock:
            return watch.before_cell()

    return engine_gone


def _in_parallel(
    one: Callable[[Submission], SubmissionResult],
    submissions: Sequence[Submission],
    jobs: int,
    cancelled: threading.Event,
) -> list[SubmissionResult]:
    """Several students at a time. On Ctrl-C the workers stop before their next step and tear
    down what they started; the caller's sweep runs only after, so nothing is created later."""
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="grading")
    try:
        return list(pool.map(one, submissions))
    except BaseException:
        cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def grade_submission(  # noqa: PLR0917 - one submission's whole context
    lab: Lab,
    submission: Submission,
    engine: Engine,
    session: Session,
    stand_ins: StandIns,
    cancelled: threading.Event,
    on_check: OnCheck,
    engine_gone: Callable[[], str] = lambda: "",
) -> SubmissionResult:
    student_session = session.scoped(engine_name(submission.student))
    network, gone = "", engine_gone()
    if not gone:
        try:
            network = engine.create_network(
                f"harness-{session.id}-{engine_name(submission.student)}", student_session.labels
            )
        except Exception as error:  # the engine's failure, whatever the SDK calls it
            seen = f"the submission's network could not be made: {error}"
            gone = failure_cause(engine, student_session, CellSteps(), seen)
    workspace = Workspace(
        engine, student_session, stand_ins, submission, network, cancelled,
        (lambda: gone) if gone else engine_gone,
    )  # fmt: skip
    try:
        results = _grade_checks(lab, workspace, on_check)
    finally:
        # A sweep the engine cannot answer is the run's to finish (its end, or `clean`).
        with contextlib.suppress(Exception):
            sweep(engine, student_session)
    return SubmissionResult(submission.student, tuple(results))


def _grade_checks(lab: Lab, workspace: Workspace, on_check: OnCheck) -> list[CheckResult]:
    submission = workspace.submission
    container: GradedContainer | GradedProject | CheckResult | None = None
    build: dockerfile.Build | CheckResult | None = None
    answers = read_answers(submission.path)
    results: list[CheckResult] = []
    try:
        for check in lab.checks:
            workspace.check_cancelled()
            result = _without_engine(check, workspace)
            if result is None:
                if isinstance(check, SurvivalCheck) and container is None:
                    container = _container_of(workspace)
                if isinstance(check, _DOCKERFILE_KINDS) and build is None:
                    build = _build_of(workspace)
                result = _grade_one(check, workspace, container, build, answers)
            results.append(result)
            on_check(submission, result)
    finally:
        if isinstance(build, dockerfile.Build):
            with contextlib.suppress(Exception):  # the engine gone: the run's end removes it
                dockerfile.remove_build(workspace, build)
    return results


def _grade_one(
    check: Check,
    workspace: Workspace,
    container: GradedContainer | GradedProject | CheckResult | None,
    build: dockerfile.Build | CheckResult | None,
    answers: dict[str, object] | str,
) -> CheckResult:
    """One check; a problem common to its kind (no run.txt, refused) applies to each such check."""
    if isinstance(check, AnswerCheck):
        return grade_answer(check, answers)
    if isinstance(check, SurvivalCheck):
        assert container is not None
        if isinstance(container, CheckResult):
            return _same_problem(container, check)
        if isinstance(container, GradedProject):
            return grade_project_survival(check, container, workspace)
        return grade_survival(check, container, workspace)
    assert build is not None
    if isinstance(build, CheckResult):
        return _same_problem(build, check)
    return _grade_image_check(check, build, workspace)


def _without_engine(check: Check, workspace: Workspace) -> CheckResult | None:
    """An error for a check that needs the engine while it is gone (no points taken for the
    engine's failure: the check is to grade again); None when it can run."""
    if isinstance(check, AnswerCheck):
        return None
    gone = workspace.engine_gone()
    if not gone:
        return None
    message = f"{gone}; grade this submission again once the engine answers."
    return CheckResult(check.id, check.points, Status.ERROR, message, check.hint)


def _grade_image_check(check: Check, build: dockerfile.Build, workspace: Workspace) -> CheckResult:
    if isinstance(check, MaxLayersCheck):
        return dockerfile.grade_max_layers(check, build, workspace)
    if isinstance(check, DeclaresVolumeCheck):
        return dockerfile.grade_declares_volume(check, build, workspace)
    return dockerfile.grade_builds(check.id, check.points, check.hint, build)


def _same_problem(problem: CheckResult, check: Check) -> CheckResult:
    return CheckResult(check.id, check.points, problem.status, problem.message, check.hint)


def _container_of(workspace: Workspace) -> GradedContainer | GradedProject | CheckResult:
    """The run line (or else the compose file) ready to run, or the result every container
    check then gets."""
    path = workspace.submission.path / RUN_FILE
    compose_file = compose_file_of(workspace.submission.path)
    if not path.is_file() and compose_file:
        return _project_of(workspace, compose_file)
    if not path.is_file():
        return _problem(
            Status.FAILED, f"There is no {RUN_FILE} (or {COMPOSE_FILES[0]}) in the submission."
        )
    try:
        line = parse_run_line(path.read_text(errors="replace"), path.parent)
        return prepare(line, workspace.stand_ins, path.parent)
    except Refused as refusal:
        return _problem(Status.REFUSED, f"{RUN_FILE} refused: {refusal}")
    except Ungradable as problem:
        return _problem(Status.FAILED, str(problem))


def _project_of(workspace: Workspace, file: Path) -> GradedProject | CheckResult:
    try:
        return prepare_project(workspace, file)
    except Refused as refusal:
        return _problem(Status.REFUSED, f"{file.name} refused: {refusal}")
    except ComposeUngradable as problem:
        return _problem(Status.FAILED, str(problem))


def _build_of(workspace: Workspace) -> dockerfile.Build | CheckResult:
    if not workspace.submission.has(DOCKERFILE):
        return _problem(Status.FAILED, f"There is no {DOCKERFILE} in the submission.")
    try:
        return dockerfile.build(workspace)
    except (GradingCancelled, KeyboardInterrupt):
        raise
    except Exception as error:  # no points taken: an error, with the true cause
        cause = failure_cause(workspace.engine, workspace.session, CellSteps(), described(error))
        return _problem(Status.ERROR, f"The build could not run: {cause}")


def _problem(status: Status, message: str) -> CheckResult:
    return CheckResult("", 0, status, message)
