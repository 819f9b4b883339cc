"""Reports are proportionate: their size follows what the learner must read, not the test count.

The untouched stubs fail every test with the same "not implemented yet": a report says so once per
exercise. A failing submission keeps, for each failed test, its property, counterexample and hint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from course.i18n import message
from course.info import ROOT, find_exercise, load_course
from grading import report as rp
from grading.engine import Options, grade
from grading.model import Diagnosis, ExerciseResult, Failure, Integrated, Outcome, Report, Status
from grading.model import TestResult as Result
from grading.plugin import learner_traceback
from grading.protocol import MAX_SENTENCE, MAX_TRACEBACK
from selftest.conftest import STUBS

REPORT_LIMIT = 200_000  # bytes: the most a report of the untouched stubs may take
COURSE = load_course()
WRONG_SOFTMAX = ("    z = np.exp(x - x.max(axis=axis, keepdims=True))  # every exponent <= 0: no overflow",
                 "    z = np.exp(x)")


@STUBS
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
    report = grade(Options(target=target, exercises=[find_exercise(COURSE, "ex02")]))
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


# -- what a learner reads: constructed reports, rendered (fast: no grading) ---------------------

DATA = Path(__file__).parent / "data"
LONG_HINT = "h" * (MAX_SENTENCE - 1) + "."


def report_from_json(path: Path) -> Report:
    """The report a real grading wrote with ``--json`` (``python grader.py ex02 --json``)."""
    data = json.loads(path.read_text())
    rows = []
    for e in data["exercises"]:
        e = {k: v for k, v in e.items() if k != "test_count"}
        e["tests"] = [Result(**{**t, "outcome": Outcome(t["outcome"]),
                                "others": [Failure(**f) for f in t.get("others", [])]}) for t in e["tests"]]
        e["diagnoses"] = [Diagnosis(**d) for d in e["diagnoses"]]
        e["integrated"] = Integrated(**e["integrated"]) if e["integrated"] else None
        rows.append(ExerciseResult(**{**e, "status": Status(e["status"])}))
    return Report(target=data["target"], exercises=rows, meta=data["meta"], complete=data["complete"])


def one_exercise(key: str, status: Status, points: float, tests: list[Result], **more) -> Report:
    e = find_exercise(COURSE, key)
    return Report(target="/path/to/exercises", meta={}, exercises=[
        ExerciseResult(e.id, e.title, e.module, status, points, e.points, tests=tests, hints=list(e.hints),
                       **more)])


FRAME = '  File "exercises/ex04_self_attention.py", line {}, in self_attention\n    {}\nValueError: matmul'


def several_failures() -> Result:
    """A test in which hypothesis found two distinct failures, with a hint as long as a hint may be."""
    return Result("test_batch", Outcome.FAILED, prop="self_attention works on batches.",
                      message="weights differ", counterexample="test_batch(\n    X=array([[0., 1.]]),\n)",
                      hint=LONG_HINT,
                      traceback=FRAME.format(42, "scores = X @ X.T"),
                      others=[Failure("your code raised ValueError: matmul",
                                      "test_batch(\n    X=array([[[0.]]]),\n)",
                                      FRAME.format(45, "out = weights @ X"))])


def test_every_distinct_failure_is_shown_with_its_input_and_the_hint_whole():
    report = one_exercise("ex04", Status.FAILED, 0, [several_failures()])
    text = rp.render_text(report)
    assert "failure 1 of 2: weights differ" in text and "X=array([[0., 1.]])" in text
    assert "failure 2 of 2: your code raised ValueError: matmul" in text and "X=array([[[0.]]])" in text
    assert f"hint: {LONG_HINT}" in text and "scores = X @ X.T" not in text  # tracebacks: --verbose only
    verbose = rp.render_text(report, verbose=True)
    assert "      |     scores = X @ X.T" in verbose.splitlines()
    assert verbose.index("X @ X.T") < verbose.index("failure 2 of 2") < verbose.index("weights @ X")
    assert json.loads(rp.to_json(report))["exercises"][0]["tests"][0]["others"][0]["counterexample"]
    for output in (rp.to_gradescope(report)["tests"][0]["output"], rp.to_junit(report)):
        assert "failure 2 of 2" in output and f"hint: {LONG_HINT}" in output
    assert len(rp.to_gradescope(report)["tests"][0]["output"]) <= rp.OUTPUT_LIMIT
    assert "실패 2/2" in rp.render_text(report, lang="ko")


def test_a_module_that_cannot_be_imported_gets_one_note():
    note = "ex04_self_attention.py could not be imported: SyntaxError (line 3): invalid syntax"
    tests = [Result(f"test_{k}", Outcome.NOT_IMPORTED, prop=f"property {k}", message=note, hint="a hint")
             for k in range(5)]
    report = one_exercise("ex04", Status.FAILED, 0, tests, notes=[note])
    text = rp.render_text(report, verbose=True)
    assert text.count("could not be imported") == 1 and "property" not in text and "hint" not in text
    assert json.loads(rp.to_json(report))["exercises"][0]["tests"] == []
    assert len(rp.to_gradescope(report)["tests"]) == 1


def test_the_table_and_the_total_round_alike():
    report = one_exercise("ex02", Status.FAILED, 4.42, [Result("test_a", Outcome.FAILED)])
    report.exercises[0].points = 4.4166666
    text = rp.render_text(report)
    assert "4.42 / 6" in text and "Total: 4.42 / 6" in text and "4.4 /" not in text


def test_a_passing_exercise_names_the_next_one():
    passed = one_exercise("ex04", Status.PASSED, 6, [Result("test_a", Outcome.PASSED)])
    assert rp.render_text(passed).endswith("Next: ex05 Queries, keys, values and scaled attention: "
                                           "python grader.py ex05")
    assert json.loads(rp.to_json(passed))["next"] == "ex05"
    last = one_exercise("ex16", Status.PASSED, 14, [Result("test_a", Outcome.PASSED)])
    assert "Next:" not in rp.render_text(last)
    assert json.loads(rp.to_json(last))["next"] is None


def test_the_integrated_result_shows_whenever_it_differs():
    passed = [Result("test_a", Outcome.PASSED), Result("test_b", Outcome.PASSED)]
    differs = one_exercise("ex05", Status.PASSED, 10, passed, integrated=Integrated(1, 2, ["ex02"]))
    said = "With your own ex02 instead of the reference's, 1 of 2 tests of ex05 pass"
    assert said in rp.render_text(differs)
    same = one_exercise("ex05", Status.PASSED, 10, passed, integrated=Integrated(2, 2, ["ex02"]))
    assert "With your own" not in rp.render_text(same)


def test_hints_follow_the_failing_properties_then_say_they_are_exhausted():
    tests = [Result("test_a", Outcome.PASSED, hint="hint of a passing test"),
             Result("test_b", Outcome.FAILED, prop="b holds.", hint="hint of b"),
             Result("test_c", Outcome.FAILED, prop="c holds.", hint="hint of b")]
    e = one_exercise("ex02", Status.FAILED, 0, tests).exercises[0]
    own = list(find_exercise(COURSE, "ex02").hints)
    assert e.ordered_hints() == [("hint of b", "b holds."), *((h, "") for h in own)]
    first = rp.render_hint(e, [])
    assert first.splitlines()[1:] == ["  hint of b", "  (about a property that fails now: b holds.)",
                                      "(run it again for the next hint)"]
    assert f"hint {len(own) + 1} of {len(own) + 1}:" in rp.render_hint(e, ["hint of b", *own[:-1]])
    assert rp.render_hint(e, ["hint of b", *own]) == (
        f"You have seen all {len(own) + 1} hints of ex02; run it again to see them from the first.")


# -- the README's examples of output are the grader's output -----------------------------------

README_OUTPUT = re.compile(r"<!-- grader output: ([\w-]+) -->\n```\n(.*?)\n```", re.DOTALL)
ELIDED = "..."  # a README line of only this stands for one or more lines of the output


def readme_outputs() -> dict[str, str]:
    """What the README shows, by its name there, rendered now: the untouched stubs, a softmax that
    ignores ``axis`` (a real grading, selftest/data/ex02_ignores_axis.json), advice, two hints."""
    stubs = Report(target="/path/to/exercises", meta={}, exercises=[
        ExerciseResult(e.id, e.title, e.module, Status.NOT_STARTED, 0.0, e.points, hints=list(e.hints),
                       tests=[Result("test_a", Outcome.NOT_STARTED)]) for e in COURSE])
    wrong_axis = report_from_json(DATA / "ex02_ignores_axis.json")
    advice = one_exercise("ex06", Status.PASSED, 6, [Result("test_a", Outcome.PASSED)], notes=[
        message("advice from {test}: {advice}", test="test_causal_mask_rejects_a_negative_length[-1]",
                advice="your ValueError says 'invalid argument': naming the bad argument (T) would tell the "
                       "caller what to fix")])
    ex02 = wrong_axis.exercises[0]
    first_hint = ex02.ordered_hints()[0][0]
    return {"stubs": rp.render_text(stubs), "wrong-axis": rp.render_text(wrong_axis),
            "advice": rp.render_text(advice),
            "hint-twice": rp.render_hint(ex02, []) + "\n" + rp.render_hint(ex02, [first_hint])}


def shows(example: str, output: str) -> bool:
    """``example`` is ``output``, line for line (trailing spaces aside), where a line of only
    ELIDED stands for one or more lines."""
    pattern = "\n".join(r"(?:[^\n]*\n)*[^\n]*" if line.strip() == ELIDED else re.escape(line.rstrip())
                        for line in example.splitlines())
    return re.fullmatch(pattern, "\n".join(line.rstrip() for line in output.splitlines())) is not None


def test_the_readme_shows_the_graders_real_output():
    examples = dict(README_OUTPUT.findall((ROOT / "README.md").read_text()))
    outputs = readme_outputs()
    assert sorted(examples) == sorted(outputs)
    for name, output in outputs.items():
        assert shows(examples[name], output), f"README.md's {name!r} example is not the output:\n{output}"
