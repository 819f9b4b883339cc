"""The suite proves its own power: stubs fail everything, solutions pass everything, every
catalogued mistake is caught, every correct alternative is accepted, and the diagnosis names
the mistakes from their fingerprints."""

from __future__ import annotations

import json

import pytest

import dev
from catalogue.entries import alternatives, mistakes
from course.info import ROOT, find_exercise, load_course
from grading.engine import FINGERPRINTS, Options, grade
from grading.fingerprint import same
from grading.model import Outcome, Status


def test_course_is_consistent():
    """info.toml, stubs, solutions and tests agree: names, signatures, docstrings, stub bodies."""
    assert dev.course_problems() == []


def test_every_test_fails_on_the_untouched_stubs():
    report = grade(Options(target=ROOT / "exercises", integrated=False))
    passing = [(e.id, t.name) for e in report.exercises for t in e.tests
               if t.outcome == Outcome.PASSED]
    assert passing == []
    assert report.points == 0
    assert all(e.status == Status.NOT_STARTED for e in report.exercises)
    assert report.next_exercise.id == "ex01"


def test_solutions_earn_every_point():
    report = grade(Options(target=ROOT / "solutions"))
    failing = {e.id: [t.name for t in e.tests if t.outcome != Outcome.PASSED] for e in report.exercises
               if e.status != Status.PASSED}
    assert failing == {}
    assert report.points == report.max_points == sum(e.points for e in load_course())


def test_catalogue_is_large_enough():
    assert len(mistakes()) >= 40
    assert len(alternatives()) >= 10


# Grading every catalogue entry takes minutes: CI runs it, and `python dev.py catalogue` prints it.
CATALOGUE = pytest.mark.xdist_group("catalogue")  # one worker judges the catalogue, once


@pytest.fixture(scope="module")
def judged():
    return dev.judge_catalogue()


@pytest.mark.ci_only
@CATALOGUE
def test_every_mistake_is_caught(judged):
    survivors = [r["entry"].name for r in judged if r["entry"].kind == "mistake" and not r["right"]]
    assert survivors == []


@pytest.mark.ci_only
@CATALOGUE
def test_every_correct_alternative_passes(judged):
    rejected = {r["entry"].name: [t.message for t in r["result"].tests if t.outcome != Outcome.PASSED][:2]
                for r in judged if r["entry"].kind == "alternative" and not r["right"]}
    assert rejected == {}


@pytest.mark.ci_only
@CATALOGUE
def test_diagnosis_names_most_mistakes(judged):
    named = [r["diagnosed"] for r in judged if r["entry"].kind == "mistake"]
    assert sum(named) / len(named) >= 0.9


def test_fingerprints_are_up_to_date():
    """grading/fingerprints.json matches the catalogue and the tests' diagnostic inputs."""
    stored = json.loads(FINGERPRINTS.read_text())
    fresh = dev.fingerprints()
    assert stored.keys() == fresh.keys()
    assert [(m["module"], m["function"], m["id"]) for m in stored["mistakes"]] == \
        [(m["module"], m["function"], m["id"]) for m in fresh["mistakes"]], "run: python dev.py fingerprints"
    for old, new in zip(stored["mistakes"], fresh["mistakes"], strict=True):
        assert all(same(a, b) for a, b in zip(old["prints"], new["prints"], strict=True)), old["id"]


def test_points_follow_the_requirements():
    """A requirement's points split over its functions, then over their cases; hidden tests fit in."""
    ex02 = find_exercise(load_course(), "ex02")
    stable = next(r for r in ex02.requirements if r.name == "softmax never overflows")
    names = [f"{t}[{case}]" for r in ex02.requirements for t in r.tests for case in (0, 1)]
    most = dict(zip(names, ex02.max_points(names), strict=True))
    assert sum(most.values()) == pytest.approx(ex02.points)
    assert sum(v for k, v in most.items() if k.split("[")[0] in stable.tests) == pytest.approx(stable.points)
    with_hidden = ex02.max_points([*names, "hidden:test_extra"])
    assert sum(with_hidden) == pytest.approx(ex02.points) and 0 < with_hidden[-1] < ex02.points / 2
