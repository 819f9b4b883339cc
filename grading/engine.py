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
import hashlib
import json
import os
import platform
import re
import shutil
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.info import ROOT, Exercise, load_course
from grading import sandbox
from grading.fingerprint import same
from grading.model import (
    Diagnosis,
    ExerciseResult,
    Integrated,
    Outcome,
    Report,
    Status,
    TestResult,
)
from grading.runner import Limits, Run, Scheduler

FINGERPRINTS = Path(__file__).resolve().parent / "fingerprints.json"
PROFILE = "grading"
TRACEBACK_LIMIT = 1000  # characters of a failed test's traceback that a report keeps (the end)
_LIBRARY = tuple(sorted({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}))
_FRAME = re.compile(r'\s*File "([^"]+)", line \d+')


@dataclass
class Options:
    """What to grade and how."""

    target: Path
    exercises: list[Exercise] | None = None  # None: the whole course
    jobs: int = field(default_factory=lambda: os.cpu_count() or 2)
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


Progress = Callable[[str, dict[str, Any]], None]


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


def _assemble(dest: Path, learner: Path, own: set[str] | None, reference: Path | None,
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


def learner_traceback(text: str, limit: int = TRACEBACK_LIMIT) -> str:
    """The frames of a traceback outside Python's library and installed packages (pytest, pluggy,
    hypothesis), at most ``limit`` characters ending with the error; "" when no such frame is left."""
    kept, frames, skipping = [], 0, False
    for line in text.splitlines():
        frame = _FRAME.match(line)
        if frame:
            skipping = frame.group(1).startswith(_LIBRARY)
            frames += not skipping
        elif not line.startswith("    "):  # a frame's source lines are indented by four spaces
            skipping = False
        if not skipping:
            kept.append(line)
    if not frames:
        return ""
    text = "\n".join(kept).strip()
    return text if len(text) <= limit else "... " + text[len(text) - limit + 4:]


def _scored(exercise: Exercise, tests: list[TestResult]) -> float:
    for t, most in zip(tests, exercise.max_points([t.name for t in tests]), strict=True):
        t.max_points = round(most, 4)
        t.points = t.max_points if t.outcome == Outcome.PASSED else 0.0
    return round(sum(t.points for t in tests), 2)


def load_fingerprints(path: Path = FINGERPRINTS) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {"mistakes": [], "reference": {}}


def diagnose(module: str, observed: dict[str, list[Any]], catalogue: dict[str, Any]) -> list[Diagnosis]:
    """Catalogued mistakes whose outputs the learner's functions reproduce on every diagnostic case."""
    found = []
    for function, prints in observed.items():
        ref = catalogue["reference"].get(f"{module}:{function}")
        if ref and len(ref) == len(prints) and all(same(p, r) for p, r in zip(prints, ref, strict=True)):
            continue  # this function agrees with the reference
        for m in catalogue["mistakes"]:
            if m["module"] == module and m["function"] == function and len(m["prints"]) == len(prints) \
                    and all(same(p, q) for p, q in zip(prints, m["prints"], strict=True)):
                found.append(Diagnosis(function=function, mistake=m["id"], says=m["says"]))
    return found


def _exercise_result(e: Exercise, run: Run | None, refusal: list[str], missing: bool,
                     catalogue: dict[str, Any]) -> ExerciseResult:
    result = ExerciseResult(id=e.id, title=e.title, module=e.module, status=Status.FAILED,
                            points=0.0, max_points=e.points, hints=list(e.hints))
    if missing:
        result.status = Status.NOT_STARTED
        result.notes.append(f"{e.file_name} is missing from the target: copy it from exercises/")
        return result
    if refusal:
        result.status = Status.REFUSED
        result.notes.append(f"{e.file_name} was not run: it uses what no exercise needs "
                            f"({'; '.join(refusal[:3])}). Exercises may import "
                            f"{sandbox.allowed_imports()} only.")
        return result
    assert run is not None
    result.tests = [run.results[name] for name in (run.collected or []) if name in run.results]
    for t in result.tests:
        t.traceback = learner_traceback(t.traceback) if t.outcome == Outcome.FAILED else ""
    result.notes.extend(run.notes)
    result.duration = round(run.finished - run.started, 3)
    result.points = _scored(e, result.tests)
    if run.tampering:
        result.notes.append("your module changed code the grader relies on ("
                            + ", ".join(run.tampering) + "): no points for this exercise")
        result.points = 0.0
        for t in result.tests:
            t.points = 0.0
    outcomes = {t.outcome for t in result.tests}
    if result.tests and outcomes == {Outcome.PASSED} and not run.tampering:
        result.status = Status.PASSED
    elif outcomes == {Outcome.NOT_STARTED} or (not result.tests and not run.notes):
        result.status = Status.NOT_STARTED
    if not result.tests and not result.notes:
        result.notes.append("no test ran")
    result.diagnoses = diagnose(e.module, run.fingerprints, catalogue)
    return result


def grade(options: Options, progress: Progress | None = None,
          checkpoint: Callable[[Report], None] | None = None) -> Report:
    """Grade ``options.target``; ``progress`` hears each event, ``checkpoint`` each partial report."""
    course = load_course()
    chosen = options.exercises or course
    learner = options.target.resolve()
    notify = progress or (lambda key, event: None)
    meta: dict[str, Any] = {
        "profile": PROFILE, "derandomized": True, "seed": 0,
        "tests_hash": tests_hash(options.tests), "hidden_tests": options.hidden is not None,
        "isolated": options.reference is not None,
        "limits": {"test_seconds": options.limits.test_seconds,
                   "exercise_seconds": options.limits.exercise_seconds,
                   "memory_bytes": options.limits.memory_bytes},
        **_versions(),
    }
    catalogue = load_fingerprints()
    started = time.monotonic()
    results: dict[str, ExerciseResult] = {}

    def report(complete: bool) -> Report:
        rows = []
        for e in chosen:
            if e.id in results:
                rows.append(results[e.id])
            else:
                rows.append(ExerciseResult(
                    id=e.id, title=e.title, module=e.module, status=Status.FAILED, points=0.0,
                    max_points=e.points, hints=list(e.hints),
                    notes=["not graded: the run stopped before this exercise finished"]))
        meta["seconds"] = round(time.monotonic() - started, 2)
        return Report(target=str(learner), exercises=rows, meta=dict(meta), complete=complete)

    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        work = Path(tmp)
        protected = [p for p in (options.reference, ROOT / "catalogue", work) if p is not None]
        runs: dict[str, Run] = {}
        keys: dict[str, str] = {}
        cached = options.cache is not None and options.reference is not None
        basis = _verdict_basis(options, meta) if cached else ""
        siblings = [e.module for e in course]
        for e in chosen:
            path = learner / e.file_name
            if not path.is_file():
                results[e.id] = _exercise_result(e, None, [], True, catalogue)
                continue
            refusal = sandbox.check_policy(path, siblings)
            if refusal:
                results[e.id] = _exercise_result(e, None, refusal, False, catalogue)
                continue
            isolated = options.reference is not None
            key = _verdict_key(e, path, options, basis) if basis else ""
            if key in (options.cache or {}):
                results[e.id] = copy.deepcopy(options.cache[key])
                continue
            keys[e.id] = key
            directory = _assemble(work / e.id, learner, {e.module} if isolated else None,
                                  options.reference, course)
            runs[e.id] = Run(key=e.id, module=e.module, functions=list(e.functions),
                             target_dir=directory, limits=options.limits, tests_dir=options.tests,
                             extra_tests=options.extra_tests(e.module), protected=protected)

        by_key = {e.id: e for e in course}

        def on_event(run: Run, event: dict[str, Any]) -> None:
            notify(run.key, event)
            if event.get("event") == "done" or run.finished:
                e = by_key[run.key.split("/")[0]]
                if "/" not in run.key:
                    results[e.id] = _exercise_result(e, run, [], False, catalogue)
                if checkpoint:
                    checkpoint(report(False))

        # The later exercises have the slowest tests: start them first, so no core idles at the end.
        Scheduler(options.jobs, on_event).run_all(list(runs.values())[::-1])
        for key, run in runs.items():  # runs that ended without "done" (crashes, time limits)
            results[key] = _exercise_result(by_key[key], run, [], False, catalogue)
            if keys[key] and options.cache is not None:
                options.cache[keys[key]] = copy.deepcopy(results[key])

        if options.integrated and options.reference is not None:
            _integrated(options, chosen, results, learner, work, course, protected, on_event)
    final = report(True)
    if checkpoint:
        checkpoint(final)
    return final


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


_UNUSABLE = {Outcome.DID_NOT_RETURN: "does not return", Outcome.CRASHED: "crashes",
             Outcome.NOT_RUN: "could not run all its tests"}


def _unusable(result: ExerciseResult) -> str | None:
    """Why the learner's module must not stand in for the reference in other exercises' runs: it
    was refused, or it hangs, crashes or could not finish loading or its tests (running it again
    would only cost that time again)."""
    if result.status == Status.REFUSED:
        return "was refused by the sandbox"
    outcomes = {t.outcome for t in result.tests}
    return next((why for outcome, why in _UNUSABLE.items() if outcome in outcomes), None)


def _integrated(options: Options, chosen: list[Exercise], results: dict[str, ExerciseResult],
                learner: Path, work: Path, course: list[Exercise], protected: list[Path],
                on_event: Callable[[Run, dict[str, Any]], None]) -> None:
    """Run again, with the learner's own modules, each exercise whose prerequisites failed, unless
    one of them cannot run (refused, hangs, crashes); that run gets half the time of the first."""
    failing = {e.id for e in course if (e.id in results and results[e.id].status != Status.PASSED)
               or (e.id not in results and not (learner / e.file_name).is_file())}
    unusable = {key: why for key, result in results.items() if (why := _unusable(result))}
    usable = {e.module for e in course if e.id not in unusable and (learner / e.file_name).is_file()}
    by_id = {e.id: e for e in course}
    limits = dataclasses.replace(options.limits, exercise_seconds=options.limits.exercise_seconds / 2)
    todo = []
    for e in chosen:
        bad = [r for r in e.requires if r in failing]
        mine = results.get(e.id)
        if not bad or mine is None or not mine.tests or mine.status == Status.NOT_STARTED:
            continue
        stuck = [f"{r} {unusable[r]}" for r in _prerequisites(e, by_id) if r in unusable]
        if stuck:
            mine.integrated = Integrated(passed=0, total=0, failing_prerequisites=bad,
                                         not_run="; ".join(stuck))
        else:
            directory = _assemble(work / f"{e.id}-integrated", learner, usable, options.reference, course)
            run = Run(key=f"{e.id}/integrated", module=e.module, functions=list(e.functions),
                      target_dir=directory, limits=limits, tests_dir=options.tests,
                      extra_tests=options.extra_tests(e.module), protected=protected)
            todo.append((e, bad, run))
    Scheduler(options.jobs, on_event).run_all([run for _, _, run in todo])
    for e, bad, run in todo:
        passed = sum(t.outcome == Outcome.PASSED for t in run.results.values())
        results[e.id].integrated = Integrated(passed=passed, total=len(run.collected or []),
                                              failing_prerequisites=bad)
