"""Reports are proportionate: their size follows what the learner must read, not the test count.

The untouched stubs fail every test with the same "not implemented yet": a report says so once per
exercise. A failing submission keeps, for each failed test, its property, counterexample and hint.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from course.info import ROOT, find_exercise, load_course
from grading import report as rp
from grading.engine import Options, grade
from grading.model import Outcome, Report, Status
from grading.plugin import learner_traceback
from grading.protocol import MAX_TRACEBACK

REPORT_LIMIT = 200_000  # bytes: the most a report of the untouched stubs may take
COURSE = load_course()
WRONG_SOFTMAX = ("    z = np.exp(x - x.max(axis=axis, keepdims=True))  # every exponent <= 0: no overflow",
                 "    z = np.exp(x)")


@pytest.fixture(scope="module")
def stubs() -> Report:
    return grade(Options(target=ROOT / "exercises", jobs=2))


def test_reports_of_the_stubs_are_small(stubs):
    assert all(e.status == Status.NOT_STARTED for e in stubs.exercises)
    data = rp.to_json(stubs)
    gradescope = json.dumps(rp.to_gradescope(stubs), indent=2)
    for text in (data, gradescope, rp.to_junit(stubs)):
        assert len(text.encode()) <= REPORT_LIMIT
    for e in json.loads(data)["exercises"]:  # one entry per exercise, its tests counted
        assert e["tests"] == [] and e["test_count"] > 0
    for e in stubs.exercises:  # each hint said once, not once per test
        assert all(data.count(json.dumps(h)) == 1 for h in e.hints)
    results = json.loads(gradescope)
    assert [t["name"].split()[0] for t in results["tests"]] == [e.id for e in COURSE]
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(stubs.max_points)
    assert all("raise NotImplementedError" in t["output"] for t in results["tests"])


def test_a_failing_submission_keeps_what_each_failed_test_says(tmp_path):
    target = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", target, ignore=shutil.ignore_patterns("__pycache__"))
    softmax = target / "ex02_softmax.py"
    assert WRONG_SOFTMAX[0] in softmax.read_text()
    softmax.write_text(softmax.read_text().replace(*WRONG_SOFTMAX))
    report = grade(Options(target=target, exercises=[find_exercise(COURSE, "ex02")], jobs=2))
    failed = [t for t in report.exercises[0].tests if t.outcome == Outcome.FAILED]
    assert failed and any(t.counterexample for t in failed) and any(t.hint for t in failed)
    assert all(t.prop for t in failed)
    listed = {t["name"]: t for t in json.loads(rp.to_json(report))["exercises"][0]["tests"]}
    entries = rp.to_gradescope(report)["tests"]
    for t, entry in zip(report.exercises[0].tests, entries, strict=True):
        if t.outcome != Outcome.FAILED:
            continue
        said = listed[t.name]
        assert (said["prop"], said["counterexample"], said["hint"]) == (t.prop, t.counterexample, t.hint)
        assert len(said["traceback"]) <= MAX_TRACEBACK
        assert entry["name"] == f"ex02 {t.prop}" and len(entry["output"]) <= rp.OUTPUT_LIMIT
        assert not t.hint or f"hint: {t.hint}" in entry["output"]
        if t.counterexample:
            assert f"smallest failing input: {t.counterexample.splitlines()[0]}" in entry["output"]


def test_tracebacks_keep_the_learners_frames_and_the_error(tmp_path):
    mine = tmp_path / "ex02_softmax.py"
    mine.write_text("def softmax(x):\n    z = x\n    return z / 0\n")
    namespace: dict = {}
    exec(compile(mine.read_text(), str(mine), "exec"), namespace)

    def machinery(depth: int) -> None:  # a test runner's frames around the learner's call
        if depth:
            machinery(depth - 1)
        else:
            namespace["softmax"](1)

    with pytest.raises(ZeroDivisionError) as caught:
        machinery(50)
    kept = learner_traceback(caught.value, os.path.realpath(mine), "exercises/ex02_softmax.py")
    assert kept == ('  File "exercises/ex02_softmax.py", line 3, in softmax\n    return z / 0\n'
                    "ZeroDivisionError: division by zero")
    assert learner_traceback(caught.value, str(tmp_path / "other.py"), "other.py") == ""
