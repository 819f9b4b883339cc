"""The grading engine: from a target directory to a :class:`~grading.model.Report`.

For each exercise, the learner's module is copied next to the reference's other modules
("isolated"), so that a bug in exercise 05 costs exercise 05 only and not 07, 10, 11 and 12 that
call it; the tests run against that copy in a sandboxed child (:mod:`grading.runner`). Exercises
whose prerequisites failed are run once more against the learner's own modules ("integrated"),
and the report shows both. Without a reference (a student release) every run is integrated.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.i18n import joined, message
from course.info import ROOT, Exercise, load_course
from grading import protocol, sandbox
from grading.diagnosis import diagnose
from grading.model import (
    OUTCOME_FLAGS,
    ExerciseResult,
    Flag,
    Integrated,
    Outcome,
    Report,
    Status,
    TestResult,
)
from grading.runner import Limits, Run, RunKey, Scheduler, default_jobs

FINGERPRINTS = Path(__file__).resolve().parent / "fingerprints.json"
PROFILE = "grading"


@dataclass
class Options:
    """What to grade and how."""

    target: Path
    exercises: list[Exercise] | None = None  # None: the whole course
    jobs: int = field(default_factory=default_jobs)
    limits: Limits = field(default_factory=Limits)
    reference: Path | None = field(default_factory=lambda: _existing(ROOT / "solutions"))
    tests: Path = ROOT / "tests"
    hidden: Path | None = None  # a folder of an instructor's own test_<module>*.py files
    integrated: bool = True
    # Verdicts by content (see :func:`_verdict_key`), shared across the submissions of a batch: a
    # module graded once is not graded again. The verdict of identical inputs is identical.
    cache: dict[str, ExerciseResult] | None = None

    def extra_tests(self, module: str) -> list[Path]:
        return sorted(self.hidden.glob(f"test_{module}*.py")) if self.hidden else []


def _existing(path: Path) -> Path | None:
    return path if any(path.glob("ex*.py")) else None


Progress = Callable[[RunKey, protocol.Event], None]


def tests_hash(tests: Path = ROOT / "tests") -> str:
    """sha256 of the tests and the course metadata: which tests produced a grade."""
    digest = hashlib.sha256()
    for f in [*sorted(tests.rglob("*.py")), ROOT / "exercises" / "info.toml"]:
        name = f.relative_to(tests).as_posix() if f.is_relative_to(tests) else f.name
        digest.update(name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def _versions() -> dict[str, str]:
    import hypothesis
    import numpy
    import pytest

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "hypothesis": hypothesis.__version__, "pytest": pytest.__version__}


def _compose(dest: Path, learner: Path, own: set[str] | None, reference: Path | None,
              course: list[Exercise]) -> Path:
    """``dest`` with the learner's modules named in ``own`` (all of them when None) and the
    reference's others."""
    dest.mkdir(parents=True)
    for e in course:
        mine = learner / e.file_name
        theirs = reference / e.file_name if reference else None
        use_mine = own is None or e.module in own or theirs is None or not theirs.is_file()
        src = mine if use_mine else theirs
        if src is not None and src.is_file():
            shutil.copyfile(src, dest / e.file_name)
    return dest


def _files_digest(files: list[Path], start: str = "") -> str:
    digest = hashlib.sha256(start.encode())
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def _verdict_basis(options: Options, meta: dict[str, Any]) -> str:
    """What every isolated run's verdict depends on: the reference and the run's ``meta`` (the
    tests' hash, the limits, the library versions)."""
    reference = sorted(options.reference.glob("ex*.py")) if options.reference else []
    return _files_digest(reference, json.dumps(meta, sort_keys=True))


def _verdict_key(e: Exercise, learner_file: Path, options: Options, basis: str) -> str:
    """One isolated run's verdict key: the ``basis``, the learner's module and the hidden tests."""
    return _files_digest([learner_file, *options.extra_tests(e.module)], basis + e.id)


def _scored(exercise: Exercise, tests: list[TestResult]) -> float:
    for t, most in zip(tests, exercise.max_points([t.name for t in tests]), strict=True):
        t.max_points = round(most, 4)
        t.points = t.max_points if t.outcome == Outcome.PASSED else 0.0
    return round(sum(t.points for t in tests), 2)


NO_FINGERPRINTS: dict[str, Any] = {"mistakes": [], "reference": {}}  # a catalogue that names nothing


def load_fingerprints(path: Path = FINGERPRINTS) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else copy.deepcopy(NO_FINGERPRINTS)


def _blank(e: Exercise, *notes: str) -> ExerciseResult:
    return ExerciseResult(id=e.id, title=e.title, module=e.module, status=Status.FAILED, points=0.0,
                          max_points=e.points, hints=list(e.hints), notes=list(notes))


def missing_result(e: Exercise) -> ExerciseResult:
    """The grade of an exercise whose file the target lacks."""
    result = _blank(e, message("{file} is missing from the target: copy it from exercises/",
                               file=e.file_name))
    result.status = Status.NOT_STARTED
    return result


def refused_result(e: Exercise, violations: list[sandbox.Violation]) -> ExerciseResult:
    """The grade of an exercise whose module the sandbox refuses to run."""
    reasons = joined("; ", [str(v) for v in violations[:3]])
    result = _blank(e, message("{file} was not run: it uses what no exercise needs ({reasons}). "
                               "Exercises may import {allowed} only.",
                               file=e.file_name, reasons=reasons, allowed=sandbox.allowed_imports()))
    result.status = Status.REFUSED
    result.flags = {Flag.REFUSED} | ({Flag.REACHES_GRADER} if any(v.reaches_grader for v in violations)
                                     else set())
    return result


def exercise_result(e: Exercise, run: Run, catalogue: dict[str, Any]) -> ExerciseResult:
    """The grade of an exercise from a finished run of its tests (``catalogue``: the fingerprints
    of :func:`load_fingerprints`, to name a known mistake)."""
    result = _blank(e)
    result.tests = [run.results[name] for name in (run.collected or []) if name in run.results]
    result.notes.extend(run.notes)
    result.duration = round(run.finished - run.started, 3)
    result.points = _scored(e, result.tests)
    result.flags = {OUTCOME_FLAGS[t.outcome] for t in result.tests if t.outcome in OUTCOME_FLAGS}
    if run.tampering:
        result.flags.add(Flag.TAMPERED)
        result.notes.append(message("your module changed code the grader relies on ({names}): "
                                    "no points for this exercise", names=", ".join(run.tampering)))
        result.points = 0.0
        for t in result.tests:
            t.points = 0.0
    outcomes = {t.outcome for t in result.tests}
    if result.tests and outcomes == {Outcome.PASSED} and not run.tampering:
        result.status = Status.PASSED
    elif outcomes == {Outcome.NOT_STARTED} or (not result.tests and not run.notes):
        result.status = Status.NOT_STARTED
    if not result.tests and not result.notes:
        result.notes.append(message("no test ran"))
    result.diagnoses = diagnose(e.module, run.fingerprints, catalogue, run.symptoms)
    return result


def _new_run(e: Exercise, directory: Path, limits: Limits, protected: list[Path], *,
            integrated: bool = False, options: Options | None = None, fail_fast: bool = False) -> Run:
    """A run of ``e``'s tests on the modules in ``directory`` (``options``: the tests to use)."""
    return Run(key=RunKey(e.id, integrated=integrated), module=e.module, functions=list(e.functions),
               target_dir=directory, limits=limits, protected=protected, fail_fast=fail_fast,
               tests_dir=options.tests if options else ROOT / "tests",
               extra_tests=options.extra_tests(e.module) if options else [],
               shown_dir=options.target if options else None)


@dataclass(frozen=True)
class Candidate:
    """A module to grade in a directory that holds it and the modules it imports."""

    exercise: Exercise
    directory: Path
    fail_fast: bool = False  # stop at its first failing test


def grade_candidates(candidates: list[Candidate], limits: Limits, protected: list[Path],
                     jobs: int) -> list[ExerciseResult]:
    """The grade of each candidate, graded ``jobs`` at a time (the mistake catalogue's way)."""
    catalogue = load_fingerprints()
    runs = candidate_runs(candidates, limits, protected, jobs)
    return [exercise_result(c.exercise, run, catalogue) for c, run in zip(candidates, runs, strict=True)]


def candidate_runs(candidates: list[Candidate], limits: Limits, protected: list[Path],
                   jobs: int) -> list[Run]:
    """The finished run of each candidate (to grade with :func:`exercise_result`), ``jobs`` at a time."""
    runs = [_new_run(c.exercise, c.directory, limits, protected, fail_fast=c.fail_fast) for c in candidates]
    Scheduler(jobs).run_all(runs)
    return runs


def run_meta(options: Options) -> dict[str, Any]:
    """What makes a grading run reproducible: the tests, the limits, the library versions."""
    return {
        "profile": PROFILE, "derandomized": True, "seed": 0,
        "tests_hash": tests_hash(options.tests), "hidden_tests": options.hidden is not None,
        "isolated": options.reference is not None,
        "limits": {"test_seconds": options.limits.test_seconds,
                   "exercise_seconds": options.limits.exercise_seconds,
                   "memory_bytes": options.limits.memory_bytes},
        **_versions(),
    }


@dataclass
class _Grading:
    """One call of :func:`grade`: what it was asked, and the results so far."""

    options: Options
    course: list[Exercise]
    work: Path  # a temporary folder for the directories the runs test
    progress: Progress
    checkpoint: Callable[[Report], None] | None
    meta: dict[str, Any] = field(default_factory=dict)
    results: dict[str, ExerciseResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @functools.cached_property
    def catalogue(self) -> dict[str, Any]:
        return load_fingerprints()

    def result(self, e: Exercise, run: Run) -> ExerciseResult:
        """``e``'s grade from its finished ``run``; the catalogue (a large file) is read only to name
        the mistake of a run that sent fingerprints."""
        return exercise_result(e, run, self.catalogue if run.fingerprints else NO_FINGERPRINTS)

    @property
    def chosen(self) -> list[Exercise]:
        return self.options.exercises or self.course

    @property
    def learner(self) -> Path:
        return self.options.target.resolve()

    @property
    def protected(self) -> list[Path]:
        return [p for p in (self.options.reference, ROOT / "catalogue", self.work) if p is not None]

    def plan(self) -> tuple[list[Run], dict[str, str]]:
        """Grade what needs no run (missing, refused, already graded); the runs the rest needs, and
        the keys their verdicts are cached under."""
        options = self.options
        cached = options.cache is not None and options.reference is not None
        basis = _verdict_basis(options, self.meta) if cached else ""
        runs, keys = [], {}
        for e in self.chosen:
            path = self.learner / e.file_name
            key = _verdict_key(e, path, options, basis) if basis and path.is_file() else ""
            known = self._without_run(e, path, key)
            if known is not None:
                self.results[e.id] = known
                continue
            own = {e.module} if options.reference is not None else None
            directory = _compose(self.work / e.id, self.learner, own, options.reference, self.course)
            runs.append(_new_run(e, directory, options.limits, self.protected, options=options))
            keys[e.id] = key
        return runs, keys

    def _without_run(self, e: Exercise, path: Path, key: str) -> ExerciseResult | None:
        """The grade of a module that is missing, refused or already graded (by ``key``)."""
        if not path.is_file():
            return missing_result(e)
        violations = sandbox.check_policy(path, [m.module for m in self.course])
        if violations:
            return refused_result(e, violations)
        cache = self.options.cache or {}
        return copy.deepcopy(cache[key]) if key in cache else None

    def run(self, runs: list[Run], keys: dict[str, str]) -> None:
        """Run the planned runs and grade them; cache the verdicts."""
        # The later exercises have the slowest tests: start them first, so no core idles at the end.
        Scheduler(self.options.jobs, self.on_event).run_all(runs[::-1])
        by_id = {e.id: e for e in self.course}
        for run in runs:  # again for the runs that ended without "done" (crashes, time limits)
            e = by_id[run.key.exercise]
            self.results[e.id] = self.result(e, run)
            if keys[e.id] and self.options.cache is not None:
                self.options.cache[keys[e.id]] = copy.deepcopy(self.results[e.id])

    def on_event(self, run: Run, event: protocol.Event) -> None:
        self.progress(run.key, event)
        if isinstance(event, protocol.Done) or run.finished:
            if not run.key.integrated:
                e = next(e for e in self.course if e.id == run.key.exercise)
                self.results[e.id] = self.result(e, run)
            if self.checkpoint:
                self.checkpoint(self.assemble(complete=False))

    def assemble(self, *, complete: bool) -> Report:
        """The results so far, every exercise asked for in course order."""
        rows = [self.results.get(e.id)
                or _blank(e, message("not graded: the run stopped before this exercise finished"))
                for e in self.chosen]
        self.meta["seconds"] = round(time.monotonic() - self.started, 2)
        return Report(target=str(self.learner), exercises=rows, meta=dict(self.meta), complete=complete)


def grade(options: Options, progress: Progress | None = None,
          checkpoint: Callable[[Report], None] | None = None) -> Report:
    """Grade ``options.target``; ``progress`` hears each event, ``checkpoint`` each partial report.

    Plan (what needs a run), run (the learner's module beside the reference's others, and again
    with the learner's own earlier modules where those failed), assemble the report."""
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        grading = _Grading(options=options, course=load_course(), work=Path(tmp),
                           progress=progress or _silent, checkpoint=checkpoint, meta=run_meta(options))
        grading.run(*grading.plan())
        if options.integrated and options.reference is not None:
            _integrated(grading)
    final = grading.assemble(complete=True)
    if checkpoint:
        checkpoint(final)
    return final


def _silent(key: RunKey, event: protocol.Event) -> None:
    """Progress nobody hears."""


def _prerequisites(exercise: Exercise, by_id: dict[str, Exercise]) -> list[str]:
    """Every exercise ``exercise`` calls, directly or through another, in course order."""
    found: set[str] = set()
    todo = list(exercise.requires)
    while todo:
        key = todo.pop()
        if key not in found and key in by_id:
            found.add(key)
            todo.extend(by_id[key].requires)
    return [key for key in by_id if key in found]


_UNUSABLE: dict[Flag, Callable[[str], str]] = {
    Flag.REFUSED: lambda id: message("{id} was refused by the sandbox", id=id),
    Flag.DID_NOT_RETURN: lambda id: message("{id} does not return", id=id),
    Flag.CRASHED: lambda id: message("{id} crashes", id=id),
    Flag.NOT_RUN: lambda id: message("{id} could not run all its tests", id=id)}


def _unusable(result: ExerciseResult) -> str | None:
    """Why the learner's module must not stand in for the reference in other exercises' runs: it
    was refused, or it hangs, crashes or could not finish loading or its tests (running it again
    would only cost that time again)."""
    return next((why(result.id) for flag, why in _UNUSABLE.items() if flag in result.flags), None)


def _integrated(grading: _Grading) -> None:
    """Run again, with the learner's own modules, each exercise whose prerequisites failed, unless
    one of them cannot run (refused, hangs, crashes); that run gets half the time of the first."""
    todo = _integrated_runs(grading)
    Scheduler(grading.options.jobs, grading.on_event).run_all([run for _, run in todo])
    for bad, run in todo:
        passed = sum(t.outcome == Outcome.PASSED for t in run.results.values())
        grading.results[run.key.exercise].integrated = Integrated(
            passed=passed, total=len(run.collected or []), failing_prerequisites=bad)


def _integrated_runs(grading: _Grading) -> list[tuple[list[str], Run]]:
    """The integrated runs to start, each with the failing prerequisites it stands in for; an
    exercise that cannot have one is told why."""
    options, results, learner, course = grading.options, grading.results, grading.learner, grading.course
    failing = {e.id for e in course if (e.id in results and results[e.id].status != Status.PASSED)
               or (e.id not in results and not (learner / e.file_name).is_file())}
    unusable = {key: why for key, result in results.items() if (why := _unusable(result))}
    usable = {e.module for e in course if e.id not in unusable and (learner / e.file_name).is_file()}
    by_id = {e.id: e for e in course}
    limits = dataclasses.replace(options.limits, exercise_seconds=options.limits.exercise_seconds / 2)
    todo = []
    for e in grading.chosen:
        bad = [r for r in e.requires if r in failing]
        mine = results.get(e.id)
        if not bad or mine is None or not mine.tests or mine.status == Status.NOT_STARTED:
            continue
        stuck = [unusable[r] for r in _prerequisites(e, by_id) if r in unusable]
        if stuck:
            mine.integrated = Integrated(passed=0, total=0, failing_prerequisites=bad,
                                         not_run=joined("; ", stuck))
            continue
        directory = _compose(grading.work / f"{e.id}-integrated", learner, usable, options.reference, course)
        run = _new_run(e, directory, limits, grading.protected, integrated=True, options=options)
        todo.append((bad, run))
    return todo
