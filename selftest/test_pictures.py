"""Pictures: a failed check on a small mask, attention weights or encoding is drawn beside the
expected matrix (text report, JSON), and ``grader.py show`` draws the learner's function safely."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import grader
from catalogue.entries import mistakes
from course.info import ROOT, find_exercise, load_course
from grading import model, protocol
from grading import report as rp
from grading.engine import Options, grade
from grading.model import ExerciseResult, Outcome, Picture, Report, Status
from grading.pictures import heatmap, pictures_of
from grading.runner import Limits
from grading.show import Shown, show
from tests.support.checks import assert_close, assert_equal
from tests.support.pictures import picture

COURSE = load_course()
SEES_THE_NEXT_KEY = Picture(name="causal_mask(3)", kind="mask",
                            learner=[[True, True, False], [True, True, True], [True, True, True]],
                            expected=[[True, False, False], [True, True, False], [True, True, True]],
                            differing=[[0, 1], [1, 2]], rows="queries", columns="keys")
MASK_DRAWN = """\
causal_mask(3)
yours            expected
     0  1  2          0  1  2
  0  █ [█] ·       0  █  ·  ·
  1  █  █ [█]      1  █  █  ·
  2  █  █  █       2  █  █  █
rows: queries, columns: keys; █ True (may attend), · False; [ ] differs from the expected"""


def failed(check, *drawn) -> AssertionError:
    """The assertion ``check`` raises inside ``picture(*drawn)``."""
    with pytest.raises(AssertionError) as caught, picture(*drawn):
        check()
    return caught.value


def test_a_mask_is_drawn_beside_the_expected_with_the_differing_cells_in_brackets():
    assert heatmap(SEES_THE_NEXT_KEY) == MASK_DRAWN
    for readme in ("README.md", "README.ko.md"):  # the README's example is this output, in the report
        assert "\n".join("      " + line for line in MASK_DRAWN.splitlines()) in (ROOT / readme).read_text()
    korean = heatmap(SEES_THE_NEXT_KEY, "ko")
    assert "기댓값" in korean and "[█]" in korean and korean.count("\n") == MASK_DRAWN.count("\n")


def test_weights_are_shaded_from_zero_to_one_and_nan_is_marked():
    weights = Picture(name="weights", kind="values", learner=[[0.0, 0.2], [None, 1.0]],
                      expected=[[0.0, 0.2], [0.5, 0.5]], differing=[[1, 0], [1, 1]])
    lines = heatmap(weights).splitlines()
    assert lines[3].split()[:4] == ["0", "·", "░", "0"]  # 0 is ·, 0.2 the lightest shade
    assert lines[4].split()[:3] == ["1", "[?][█]", "1"]
    assert lines[-1] == ("· = 0, ░ ▒ ▓ █ up to 0.25, 0.5, 0.75, 1; ? NaN or infinite; "
                         "[ ] differs from the expected")
    wide = Picture(name="PE", kind="values", learner=[[-1.0] * 16], expected=[[1.0] * 16],
                   differing=[[0, j] for j in range(16)])
    assert heatmap(wide).splitlines()[1:5:3] == ["yours", "expected"]  # too wide: one above the other


def test_a_failed_check_carries_its_matrices_and_the_outcome_stays():
    T = 4
    got, expected = np.tri(T, k=1, dtype=bool), np.tri(T, dtype=bool)
    error = failed(lambda: assert_equal(got, expected, "mask"), "causal_mask(4)", got, expected)
    [drawn] = pictures_of(error)
    assert (drawn.kind, drawn.learner, drawn.differing) == ("mask", got.tolist(), [[0, 1], [1, 2], [2, 3]])
    weights = np.full((2, 3, 3), 1 / 3)
    wrong = weights.copy()
    wrong[1, 2] = [0.5, 0.5, 0.0]
    error = failed(lambda: assert_close(wrong, weights, "weights"), "weights", wrong, lambda: weights)
    [drawn] = pictures_of(error)  # the first slice that differs, named by its index
    assert (drawn.name, drawn.differing) == ("weights[1]", [[2, 0], [2, 1], [2, 2]])
    for got, expected in ((np.zeros((13, 13)), np.ones((13, 13))), ("text", np.ones(2)),
                          (np.zeros(3), lambda: 1 / 0)):  # too large, not numbers, no expected value
        error = failed(lambda: assert_close(np.zeros(2), np.ones(2), "x"), "x", got, expected)
        assert pictures_of(error) == []
    with picture("weights", weights, lambda: 1 / 0):
        pass  # a passing block never computes the expected value


def test_pictures_cross_the_pipe_within_their_limits():
    sent = protocol.Finished("test_x", Outcome.FAILED, pictures=[SEES_THE_NEXT_KEY])
    assert protocol.decode(protocol.encode(sent)) == sent
    data = json.loads(protocol.encode(sent))
    good = data["pictures"][0]

    def decoded(*pictures: dict) -> list[Picture]:
        return protocol.decode(json.dumps({**data, "pictures": list(pictures)}).encode()).pictures

    for bad in ({"kind": "text"}, {"learner": [[True]] * 13}, {"expected": [[True]]},
                {"learner": [[True, False], [True]]}, {"learner": [[1.0, 2.0, 3.0]] * 3}):
        assert decoded({**good, **bad}) == []
    long_name = {**good, "differing": [[0, 1], [9, 9]], "name": "n" * 500}
    [kept] = decoded(long_name, {**good, "kind": "text"}, good)  # at most MAX_PICTURES are read
    assert kept.differing == [[0, 1]] and len(kept.name) == protocol.MAX_PICTURE_NAME
    nan = {**good, "kind": "values", "learner": [[float("nan"), 1.0, 0.0]] * 3, "expected": []}
    assert decoded(nan)[0].learner[0] == [None, 1.0, 0.0] and decoded(nan)[0].expected == []


def test_the_json_report_carries_the_matrices():
    test = model.TestResult(name="test_causal_mask_exact_values", outcome=Outcome.FAILED,
                            pictures=[SEES_THE_NEXT_KEY])
    e = ExerciseResult(id="ex06", title="Masks", module="ex06_masking", status=Status.FAILED, points=0,
                       max_points=6, tests=[test])
    data = json.loads(rp.to_json(Report(target="t", exercises=[e], meta={})))
    said = data["exercises"][0]["tests"][0]["pictures"][0]
    assert (said["learner"], said["expected"], said["differing"]) == (
        SEES_THE_NEXT_KEY.learner, SEES_THE_NEXT_KEY.expected, SEES_THE_NEXT_KEY.differing)


def test_gradescope_and_junit_draw_the_matrices_as_the_text_report_does():
    test = model.TestResult(name="test_causal_mask_exact_values", outcome=Outcome.FAILED, message="differs",
                            pictures=[SEES_THE_NEXT_KEY])
    e = ExerciseResult(id="ex06", title="Masks", module="ex06_masking", status=Status.FAILED, points=0,
                       max_points=6, tests=[test])
    report = Report(target="t", exercises=[e], meta={})
    assert rp.to_gradescope(report)["tests"][0]["output"].endswith("\n\n" + MASK_DRAWN)
    assert MASK_DRAWN in ET.fromstring(rp.to_junit(report)).find(".//failure").text


def test_a_causal_mask_that_sees_the_future_is_drawn_in_the_report(tmp_path):
    mistake = next(m for m in mistakes() if m.id == "one_step_into_the_future")
    target = mistake.materialise(tmp_path / "submission")
    report = grade(Options(target=target, exercises=[find_exercise(COURSE, "ex06")],
                           integrated=False))
    text = rp.render_text(report)
    assert "\n".join("      " + line for line in MASK_DRAWN.splitlines()) in text  # causal_mask(3) by hand
    drawn = [p for t in report.exercises[0].tests for p in t.pictures]
    assert drawn and all(p.kind == "mask" and p.differing for p in drawn)


def run_show(capsys, *argv: str) -> tuple[int, str]:
    code = grader.main(["show", *argv])
    return code, capsys.readouterr().out


def test_show_draws_the_solutions_and_says_what_the_stubs_lack(capsys, tmp_path, monkeypatch):
    code, out = run_show(capsys, "ex06", "--target", "solutions", "--terminal")
    assert code == 0 and "causal_mask(8)" in out and "every cell is as expected" in out
    code, out = run_show(capsys, "ex05", "--lang", "ko")
    assert code == 1 and "아직 구현되지 않았습니다" in out and out.count("\n") == 1
    code, out = run_show(capsys, "ex01", "--target", "solutions")
    assert code == 0 and "nothing to draw" in out and out.count("\n") == 1
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(grader, "SHOW_PNG", tmp_path / "show-{id}.png")
    code, out = run_show(capsys, "ex08", "--target", "solutions")
    assert code == 0 and out == f"Wrote {tmp_path / 'show-ex08.png'}\n"
    assert (tmp_path / "show-ex08.png").read_bytes()[:4] == b"\x89PNG"


def test_show_stops_a_learner_function_that_never_returns(tmp_path):
    target = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", target, ignore=shutil.ignore_patterns("__pycache__"))
    with (target / "ex06_masking.py").open("a") as f:
        f.write("\n\ndef causal_mask(T):\n    while True:\n        pass\n")
    shown = show(find_exercise(COURSE, "ex06"), Path(target), Limits(test_seconds=1.0))
    assert shown.pictures == [] and len(shown.notes) == 1, shown
    assert isinstance(shown, Shown)


def test_every_example_of_show_draws_the_solutions_as_expected():
    from grading.show import EXAMPLES

    for id, examples in EXAMPLES.items():
        shown = show(find_exercise(COURSE, id), ROOT / "solutions")
        assert shown.notes == [] and len(shown.pictures) == len(examples), (id, shown.notes)
        assert all(p.expected and not p.differing for p in shown.pictures), id
