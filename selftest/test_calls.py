"""A failed test hypothesis found no smallest input for shows the call that failed (grading/calls.py)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np

from course.info import ROOT, find_exercise, load_course
from grading import report as rp
from grading.calls import SMALL_ARRAY, LastCall
from grading.engine import Options, grade
from grading.model import Outcome


@dataclasses.dataclass
class Params:
    W: np.ndarray
    b: np.ndarray
    heads: int


def test_the_last_call_is_kept_as_it_was_and_printed_small():
    """A small array is copied (a change made afterwards does not show) and printed whole; a large
    one as its dtype, shape and first values; a dataclass as its fields' shapes; a long call one
    argument a line."""
    last = LastCall()
    assert last.said() == ""
    x = np.array([[1.0, -2.5]], dtype=np.float32)
    last("softmax", {"x": x, "axis": -1})
    x[:] = 0
    assert last.said() == "softmax(x=array([[ 1. , -2.5]], dtype=float32), axis=-1)"
    big = np.arange(SMALL_ARRAY + 1, dtype=np.float64).reshape(5, 5)
    last("layer", {"X": big, "params": Params(np.zeros((4, 4)), np.ones(4), 2), "mask": None})
    said = last.said()
    assert said.startswith("layer(\n    X=<float64 array of shape (5, 5): 0, 1, 2, 3, ...>,\n")
    assert ("params=Params(W=<float64 array of shape (4, 4)>, b=<float64 array of shape (4,)>, heads=2)"
            in said)
    assert said.endswith("    mask=None,\n)")
    last.clear()
    assert last.said() == ""


def test_a_failed_example_test_shows_the_call_in_every_report(tmp_path):
    """dot_scores with keys.T fails the batched example test, which hypothesis does not drive: its
    failure carries the call, and the text report, JSON, Gradescope and JUnit show it."""
    sub = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", sub, ignore=shutil.ignore_patterns("__pycache__"))
    mine = sub / "ex03_seq2seq_attention.py"
    right = "return (keys @ query[..., :, None])[..., 0]"
    assert right in mine.read_text()
    mine.write_text(mine.read_text().replace(right, "return query @ keys.T", 1))
    report = grade(Options(target=sub, exercises=[find_exercise(load_course(), "ex03")], integrated=False))
    example = next(t for t in report.exercises[0].tests if t.name == "test_dot_scores_batched_example")
    assert example.outcome == Outcome.FAILED and not example.counterexample
    assert example.call.startswith("dot_scores(\n    query=array([[")
    assert f"the call that failed: {example.call.splitlines()[0]}" in rp.render_text(report)
    listed = json.loads(rp.to_json(report))["exercises"][0]["tests"]
    said = next(t for t in listed if t["name"] == example.name)
    assert said["call"] == example.call
    assert any("the call that failed: dot_scores(" in e.get("output", "")
               for e in rp.to_gradescope(report)["tests"])
    assert "the call that failed: dot_scores(" in rp.to_junit(report)
