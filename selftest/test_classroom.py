"""Classroom workflows: a release without reference code, batch grading, the course-tool bundles.

These build a release once (it records the reference's outputs, about a minute) and share it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from catalogue.entries import alternatives
from course.info import ROOT, load_course
from grading.batch import batch
from grading.bundle import classroom_workflow, gradescope_bundle, oldest_python, setup_sh
from grading.release import release
from grading.runner import Limits

COURSE = load_course()
QUICK = ["ex02", "ex06"]  # cheap exercises, to keep the batch tests short


def grade_json(root: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(root / "grader.py"), "--json", "-", "-q", *args],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


RELEASED = pytest.mark.xdist_group("release")  # the tests of one release share a pytest-xdist worker


# Session scope: pytest-xdist may run another module's test between the group's tests, and a
# module-scoped fixture would then be torn down and built again.
@pytest.fixture(scope="session")
def released(tmp_path_factory) -> Path:
    return release(tmp_path_factory.mktemp("release") / "course")


@pytest.mark.ci_only  # the release records the reference's outputs on every test: half a minute
@RELEASED
def test_release_ships_no_reference_code(released):
    names = {p.name for p in released.rglob("*")}
    assert not names & {"solutions", "catalogue", "dev.py", "selftest", "__pycache__"}
    assert not any(p.suffix == ".pyc" for p in released.rglob("*"))
    stubs = "\n".join(f.read_text() for f in (ROOT / "exercises").glob("ex*.py"))
    bodies = [line.strip() for f in (ROOT / "solutions").glob("ex*.py") for line in f.read_text().splitlines()
              if line.strip().startswith("return ") and len(line.strip()) > 25 and line.strip() not in stubs]
    shipped = "\n".join(p.read_text(errors="ignore") for p in released.rglob("*.py"))
    assert [b for b in bodies if b in shipped] == []
    probe = subprocess.run([sys.executable, "-c", "import solutions"], cwd=released, capture_output=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert probe.returncode != 0


@pytest.mark.ci_only  # the same release
@RELEASED
def test_release_ships_the_contract_and_links_nothing_outside(released):
    """Every relative link of the shipped Markdown, and the rules every exercise points to, exist."""
    assert (released / "docs" / "API.md").is_file() and (released / "docs" / "API-beyond.md").is_file()
    for md in released.rglob("*.md"):
        for link in re.findall(r"\]\(([^)#]+)\)", md.read_text()):
            if "://" not in link:
                assert (md.parent / link).resolve().is_relative_to(released), f"{md.name} links {link}"
                assert (md.parent / link).exists(), f"{md.name} links the missing {link}"


@pytest.mark.ci_only  # grades the whole course from the recorded outputs
@RELEASED
def test_release_grades_stubs_zero_and_solutions_full(released, tmp_path):
    stubs = grade_json(released)
    assert stubs["points"] == 0 and stubs["next"] == "ex01"
    assert stubs["meta"]["isolated"] is False
    dropped = tmp_path / "dropped"
    shutil.copytree(released / "exercises", dropped)
    for f in (ROOT / "solutions").glob("ex*.py"):
        shutil.copy(f, dropped / f.name)
    full = grade_json(released, "--target", str(dropped))
    failing = {e["id"]: [t["message"] for t in e["tests"] if t["outcome"] != "passed"][:2]
               for e in full["exercises"] if e["points"] < e["max_points"]}
    assert failing == {}
    assert full["points"] == full["max_points"] == sum(e.points for e in load_course())


def test_hidden_tests_run_when_grading(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_ex06_masking_extra.py").write_text(
        "from tests.support import target\n\n\ndef test_causal_mask_of_one():\n"
        '    """The causal mask of one token allows it."""\n'
        "    assert target.module('ex06_masking').causal_mask(1).tolist() == [[True]]\n")
    report = grade_json(ROOT, "ex06", "--target", "solutions", "--hidden", str(hidden))
    names = [t["name"] for t in report["exercises"][0]["tests"]]
    assert "hidden:test_causal_mask_of_one" in names
    assert report["points"] == report["max_points"]


def _zip(folder: Path, dest: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w") as z:
        for f in folder.glob("*.py"):
            z.write(f, prefix + f.name)
    return dest


def test_batch_grades_a_class_and_resumes(tmp_path, monkeypatch):
    import grading.batch as gb

    chosen = [e for e in COURSE if e.id in QUICK]
    subs = tmp_path / "submissions"
    subs.mkdir()
    own = next(a for a in alternatives() if a.module == "ex02_softmax")
    own.materialise(subs / "alice")
    own.materialise(subs / "bob")  # the same code of their own as alice: flagged
    shutil.copytree(ROOT / "solutions", subs / "greg")  # the reference, as alice's other modules: not flagged
    _zip(ROOT / "exercises", subs / "carol.zip", prefix="carol-work/")  # nested folder, stubs
    zipfile.ZipFile(subs / "dave.zip", "w").close()  # an empty zip
    with zipfile.ZipFile(subs / "eve.zip", "w") as z:
        z.writestr("../../escape.py", "print('out')")
    shutil.copytree(ROOT / "solutions", subs / "frank")
    (subs / "frank" / "ex02_softmax.py").write_text("from solutions.ex02_softmax import *\n")
    out = tmp_path / "results"
    rows = {r.student: r for r in batch(subs, out, jobs=2, limits=Limits(exercise_seconds=60),
                                        exercises=chosen)}
    assert rows["alice"].total == rows["bob"].total == 12
    assert rows["alice"].flags == ["identical code to bob in ex02"] and rows["greg"].flags == []
    assert rows["carol"].total == 0 and not rows["carol"].reason
    assert "empty" in rows["dave"].reason
    assert "outside its folder" in rows["eve"].reason
    assert not (tmp_path / "escape.py").exists()
    assert any("uses the reference" in f for f in rows["frank"].flags)
    with (out / "grades.csv").open() as f:
        table = {r["student"]: r for r in csv.DictReader(f)}
    assert table["alice"]["total"] == "12" and table["alice"]["ex02"] == "6"
    assert (out / "feedback" / "carol.txt").read_text().startswith("Grading")
    carol = json.loads((out / "feedback" / "carol.json").read_text())  # stubs: nothing per test
    assert [(e["status"], e["tests"]) for e in carol["exercises"]] == [("not started", [])] * len(chosen)
    # resume: nothing changed, nothing is graded again
    monkeypatch.setattr(gb, "grade_one", lambda *a, **k: pytest.fail("graded again"))
    again = batch(subs, out, jobs=2, exercises=chosen)
    assert [r.total for r in again] == [r.total for r in rows.values()]


@pytest.mark.ci_only  # grades the whole course once more
def test_gradescope_bundle_runs_against_a_fake_autograder(tmp_path):
    bundle = gradescope_bundle(tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
        assert {"setup.sh", "run_autograder"} <= set(z.namelist())
        assert not any(n.startswith(("catalogue/", "selftest/")) for n in z.namelist())
    (root / "source" / "run_autograder").chmod(0o755)
    sub = root / "submission" / "nested"
    shutil.copytree(ROOT / "solutions", sub)
    (sub / "ex05_qkv_attention.py").write_text("raise RuntimeError('not done')\n")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, timeout=900,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == sum(e.points for e in COURSE if e.id != "ex05")  # every point but ex05's
    for t in results["tests"]:
        assert t["status"] in ("passed", "failed") and 0 <= t["score"] <= t["max_score"]
        assert len(t["output"]) <= 500


def test_setup_sh_stops_the_build_in_one_line_when_no_route_works(tmp_path):
    """The routes themselves run in a Debian chroot: selftest/test_gradescope_image.py."""
    (tmp_path / "setup.sh").write_text(setup_sh())
    major, minor = oldest_python()
    env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), AUTOGRADER_PYTHON_ROUTES="none")
    proc = subprocess.run(["bash", str(tmp_path / "setup.sh")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and not (tmp_path / "venv").exists()
    assert proc.stderr.splitlines()[-1].startswith(
        f"setup.sh: FAILED: no Python >= {major}.{minor} (tried: none)")


def test_classroom_workflow_is_shipped_and_current():
    shipped = (ROOT / "classroom" / "autograding.yml").read_text()
    assert shipped == classroom_workflow()
    for e in COURSE:
        assert f"python grader.py {e.id} --strict" in shipped
        assert f"max-score: {e.points:g}" in shipped
