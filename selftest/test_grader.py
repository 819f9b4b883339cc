"""The grader holds against hostile submissions, and its reports speak the course tools' formats.

Each hostile behaviour is put into exercise 02 (softmax) of an otherwise correct submission. It
must cost exercise 02 only, with a clear message: exercise 06, graded beside it, keeps every point,
and the grader itself keeps running. Exercise 05 calls softmax, but without the integrated pass it
is graded with the reference's softmax, as exercise 06 is: the battery grades ex02 and ex06 only,
and the tests below that need the integrated pass grade ex05 too.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from course.info import ROOT, find_exercise, load_course
from grading import protocol
from grading import report as rp
from grading.engine import Candidate, Options, candidate_runs, grade
from grading.engine import tests_hash as hash_of_tests
from grading.model import ExerciseResult, Outcome, Report, Status
from grading.model import TestResult as Result
from grading.runner import Limits
from tests.support.target import CALL_SECONDS

SOLUTIONS = ROOT / "solutions"
COURSE = load_course()
GRADED = [find_exercise(COURSE, k) for k in ("ex02", "ex05", "ex06")]
BESIDE = [GRADED[0], GRADED[2]]  # the hostile ex02, and ex06 graded beside it
FAST = Limits(test_seconds=5, exercise_seconds=60, memory_bytes=3 << 30)
# A loop that only the per-test limit stops (at import, or one that swallows the per-call stop)
# costs that limit in every test process: just past the per-call budget, so the stop still fires
# first, and two test processes' worth for the exercise, so the second one meets the exercise's limit.
LOOP = dataclasses.replace(FAST, test_seconds=CALL_SECONDS + 1, exercise_seconds=2 * (CALL_SECONDS + 1))
GENEROUS = Limits(test_seconds=120, exercise_seconds=600)
LOOP_LIMITED = {"infinite loop that swallows the stop", "infinite loop at import"}

# The learner's code reaches `os` without importing it, to get past the static policy.
OS = "np.lib._datasource.os"
WRAP = """
_reference_softmax = softmax


def softmax(x, axis=-1):
{body}
    return _reference_softmax(x, axis)
"""


def wrapped(body: str) -> str:
    return WRAP.format(body="\n".join("    " + line for line in body.splitlines()))


HOSTILE = {
    # name: (code appended to the reference ex02, words expected in ex02's feedback)
    "infinite loop": (wrapped("while True:\n    pass"), "did not return"),
    "infinite loop that swallows the stop": (wrapped("while True:\n    try:\n        while True:\n"
                                                     "            pass\n    except BaseException:\n"
                                                     "        pass"), "timed out"),
    "infinite loop at import": ("while True:\n    pass", "timed out"),
    "sys.exit at import": ("raise SystemExit(3)", "SystemExit"),
    "sys.exit in a call": (wrapped("raise SystemExit(0)"), "SystemExit"),
    "os._exit": (wrapped(f"{OS}._exit(0)"), "exited with status 0"),
    "import os (refused)": ("import os\nos._exit(1)", "imports `os`"),
    "segfault": (wrapped("np.lib.stride_tricks.as_strided(x, shape=(2,), strides=(2**44,))[1] + 1"),
                 "segmentation fault"),
    "os.kill of itself": (wrapped(f"{OS}.kill({OS}.getpid(), 9)"), "os.kill"),
    "huge allocation": (wrapped("np.ones((200_000, 100_000))"), "memory"),
    "syntax error": ("def softmax(x:\n", "SyntaxError"),
    "import error": ("from numpy import does_not_exist", "ImportError"),
    "exception at import": ("raise RuntimeError('boom at import')", "boom at import"),
    "NaN result": ("def softmax(x, axis=-1):\n    return np.full_like(x, np.nan)", "NaN"),
    "list result": (wrapped("return np.exp(x).tolist()"), "numpy.ndarray"),
    "wrong shape": ("def softmax(x, axis=-1):\n    return np.ones(3)", "shape"),
    "wrong dtype": (wrapped("return _reference_softmax(x, axis).astype(np.float16)"), "dtype"),
    "input changed in place": (wrapped("x *= 1.0000001"), "in place"),
    "imports the reference (refused)": ("from solutions.ex02_softmax import softmax", "solutions"),
    "reads the reference": (wrapped(f"{OS}.open('/'.join({list((SOLUTIONS / 'ex02_softmax.py').parts)!r})"
                                    "[1:], 0)"),
                            "does not let exercise code read"),
    "monkeypatches numpy (refused)": ("np.allclose = lambda *a, **k: True", "assigns into the module"),
    "monkeypatches numpy": ("type(np).__setattr__(np, 'isfinite', lambda a: np.ones(np.shape(a), bool))",
                            "changed code the grader relies on"),
    "monkeypatches numpy in a call": (wrapped("type(np).__setattr__(np, 'isclose', lambda *a, **k: True)"),
                                      "changed code the grader relies on"),
    "monkeypatches numpy through __dict__": ("getattr(np, '__dict__')['isfinite'] = np.isnan",
                                             "changed code the grader relies on"),
    "monkeypatches numpy's internals": ("_core = getattr(np, '_core', None) or np.core\n"
                                        "type(np).__setattr__(_core.numeric, 'isclose', np.equal)",
                                        "changed code the grader relies on"),
    "monkeypatches numpy through np.core": ("type(np).__setattr__(getattr(np.core, 'numeric'), 'all', any)",
                                            "changed code the grader relies on"),
    "monkeypatches numpy through an alias": ("import numpy.linalg as la\n"
                                             "type(la).__setattr__(la, 'norm', lambda *a, **k: 0.0)",
                                             "changed code the grader relies on"),
    "replaces a test helper's code": (f"_f = getattr({OS}.sys, 'modules')['tests.support.checks']"
                                      ".assert_close\n"
                                      "type(_f).__setattr__(_f, '__code__', getattr(lambda *a, **k: None, "
                                      "'__code__'))",
                                   "changed code the grader relies on"),
    "patches a method of pytest": (f"_p = getattr({OS}.sys, 'modules')['_pytest.python']\n"
                                   "type.__setattr__(_p.Function, 'runtest', lambda self: None)",
                                   "changed code the grader relies on"),
    "patches the reference": (f"_m = getattr({OS}.sys, 'modules')['_ref' + 'erence.ex02_softmax']\n"
                              "type(_m).__setattr__(_m, 'softmax', lambda x, axis=-1: x)",
                              "changed code the grader relies on"),
    "changes a numpy constant": ("type(np).__setattr__(np, 'inf', 0.0)", "changed code the grader relies on"),
    "monkeypatches the course": ("from course import params\n"
                                 "type(params).__setattr__(params, 'tree_map', lambda f, *t: t[0])",
                                 "changed code the grader relies on"),
    "always-equal object": ("class Yes:\n    def __eq__(self, o):\n        return True\n"
                            "    shape = property(lambda self: (1,))\n"
                            "def softmax(x, axis=-1):\n    return Yes()", "numpy.ndarray"),
    "rigged ndarray subclass": ("class R(np.ndarray):\n    def __eq__(self, o):\n"
                                "        return np.ones(self.shape, bool)\n    def __ne__(self, o):\n"
                                "        return np.zeros(self.shape, bool)\n"
                                "def softmax(x, axis=-1):\n    return np.zeros_like(x).view(R)", "differs"),
    "writes a fake results file": (wrapped(f"{OS}.open('results.json', {OS}.O_WRONLY | {OS}.O_CREAT)"),
                                   "does not let exercise code write"),
    "edits the tests on disk": (wrapped(f"{OS}.open({str(ROOT / 'tests' / 'test_ex02_softmax.py')!r}, "
                                        f"{OS}.O_WRONLY)"), "does not let exercise code write"),
}


def submission(tmp_path: Path, ex02_extra: str) -> Path:
    sub = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, sub)
    with (sub / "ex02_softmax.py").open("a") as f:
        f.write("\n\n" + ex02_extra + "\n")
    return sub


def feedback(result) -> str:
    return " ".join([*result.notes, *(t.message for t in result.tests)])


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_exercise_costs_that_exercise_only(tmp_path, name):
    code, expected = HOSTILE[name]
    before = hash_of_tests()
    report = grade(Options(target=submission(tmp_path, code), exercises=BESIDE,
                           limits=LOOP if name in LOOP_LIMITED else FAST, integrated=False))
    ex02, ex06 = report.exercises
    assert ex02.points < ex02.max_points, f"{name} earned every point"
    assert expected.lower() in feedback(ex02).lower(), feedback(ex02)[:800]
    assert ex06.points == ex06.max_points, feedback(ex06)
    assert hash_of_tests() == before
    assert not (ROOT / "results.json").exists()


def test_a_function_that_never_returns_is_not_run_again_with_the_learners_modules(tmp_path):
    """A hanging softmax costs its CPU budget once per process: ex05 keeps its points and is not
    run again with the learner's own ex02 (that would only hang again)."""
    report = grade(Options(target=submission(tmp_path, wrapped("while True:\n    pass")), exercises=GRADED,
                           limits=FAST))
    ex02, ex05, _ = report.exercises
    assert {t.outcome for t in ex02.tests} >= {Outcome.DID_NOT_RETURN, Outcome.PASSED}
    assert ex05.points == ex05.max_points
    assert ex05.integrated is not None and ex05.integrated.not_run == "ex02 does not return"


def test_printing_megabytes_costs_nothing_else(tmp_path):
    code = wrapped("print('x' * 2_000_000)")
    report = grade(Options(target=submission(tmp_path, code), exercises=GRADED, limits=FAST,
                           integrated=False))
    assert [e.points for e in report.exercises] == [e.max_points for e in report.exercises]


def test_files_dropped_into_the_submission_are_never_loaded(tmp_path):
    sub = tmp_path / "submission"
    shutil.copytree(ROOT / "exercises", sub, ignore=shutil.ignore_patterns("info.toml"))
    rig = "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n" \
          "    out = yield\n    out.get_result().outcome = 'passed'\n"
    (sub / "conftest.py").write_text(rig)
    (sub / "pytest.ini").write_text("[pytest]\naddopts = -p no:hypothesispytest\n")
    (sub / "sitecustomize.py").write_text("import builtins\nbuiltins.NotImplementedError = AssertionError\n")
    (sub / "numpy.py").write_text("raise SystemExit('shadowed numpy')\n")
    report = grade(Options(target=sub, exercises=GRADED, limits=FAST, integrated=False))
    assert report.points == 0
    assert all(e.status == Status.NOT_STARTED for e in report.exercises)


def test_a_wrong_earlier_exercise_costs_points_once(tmp_path):
    code = "def softmax(x, axis=-1):\n    z = np.exp(x)\n    return z / z.sum(axis=0, keepdims=True)"
    report = grade(Options(target=submission(tmp_path, code), exercises=GRADED, limits=FAST))
    ex02, ex05, _ = report.exercises
    assert ex02.points < ex02.max_points
    assert ex05.points == ex05.max_points
    assert ex05.integrated is not None and ex05.integrated.passed < ex05.integrated.total
    assert ex05.integrated.failing_prerequisites == ["ex02"]


class _GenericValueErrors(ast.NodeTransformer):
    """Every ``raise ValueError(...)`` says "invalid argument" and nothing else."""

    def visit_Raise(self, node: ast.Raise) -> ast.Raise:
        if isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == "ValueError":
            node.exc.args, node.exc.keywords = [ast.Constant("invalid argument")], []
        return node


@pytest.mark.ci_only  # grades the whole course once more
def test_error_wording_is_advice_not_points(tmp_path):
    """The reference with every ValueError message replaced by "invalid argument" keeps every point."""
    sub = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, sub)
    for f in sub.glob("ex*.py"):
        f.write_text(ast.unparse(_GenericValueErrors().visit(ast.parse(f.read_text()))))
    report = grade(Options(target=sub, integrated=False))
    assert report.points == report.max_points, rp.render_text(report)
    advice = [n for e in report.exercises for n in e.notes if n.startswith("advice from")]
    assert len(advice) >= len(report.exercises), advice
    assert "invalid argument" in rp.render_text(report)


GRADED_ONCE = pytest.mark.xdist_group("solutions_report")  # one worker grades the reference for these


@pytest.fixture(scope="session")  # as `released` in test_classroom.py: built once per worker
def solutions_report():
    return grade(Options(target=SOLUTIONS, exercises=GRADED))


@GRADED_ONCE
def test_gradescope_results_follow_the_format(solutions_report):
    data = rp.to_gradescope(solutions_report)
    assert data["score"] == solutions_report.points
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=0.01)
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed") and t["visibility"] == "visible"
        assert len(t["output"]) <= 500
    assert len(json.dumps(data)) < 1_000_000


@GRADED_ONCE
def test_junit_is_well_formed(solutions_report):
    root = ET.fromstring(rp.to_junit(solutions_report).split("?>", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name").split()[0] for s in suites] == ["ex02", "ex05", "ex06"]
    assert all(s.get("failures") == "0" for s in suites)
    assert sum(int(s.get("tests")) for s in suites) == len(root.findall(".//testcase"))


@GRADED_ONCE
def test_json_report_records_what_makes_it_reproducible(solutions_report):
    data = json.loads(rp.to_json(solutions_report))
    for key in ("profile", "seed", "tests_hash", "python", "numpy", "hypothesis"):
        assert key in data["meta"]
    assert data["points"] == data["max_points"]


@pytest.mark.parametrize("code", [
    "def softmax(x, axis=-1):\n    z = np.exp(x)\n    return z / z.sum(axis=axis, keepdims=True)",
    HOSTILE["os._exit"][0],  # every test ends its process: the tests past the fifth are not run
    wrapped(f"if np.ndim(x) == 3:\n    {OS}._exit(0)"),  # some do
], ids=["overflows", "always exits", "exits on 3-d input"])
def test_grading_is_deterministic(tmp_path, code):
    """The same report whatever the number of jobs, also where tests end their process: one child
    stops after the fifth such test, and two children sharing the tests report the same."""
    sub = submission(tmp_path, code)
    dones = []
    runs = [rp.to_json(grade(Options(target=sub, exercises=GRADED[:1], limits=FAST, jobs=jobs),
                             progress=lambda key, event: dones.append(isinstance(event, protocol.Done))))
            for jobs in (1, 2)]
    assert sum(dones) == 2  # one "done" per grading
    strip = [{k: v for k, v in json.loads(r).items() if k != "meta"} for r in runs]
    for r in strip:
        for e in r["exercises"]:
            e.pop("duration")
            for t in e["tests"]:
                t.pop("duration")
                t.pop("traceback")
    assert strip[0] == strip[1]


def test_a_run_that_stops_at_its_first_failure_leaves_the_other_tests_out(tmp_path):
    """``fail_fast`` (the catalogue's way): the first failure ends the run, with one child or two;
    the tests no child reached are left out, as pytest's -x does, not reported as not run."""
    sub = submission(tmp_path, "def softmax(x, axis=-1):\n    z = np.exp(x)\n    return z / z.sum(axis=axis, "
                               "keepdims=True)")
    for jobs in (1, 2):
        # Limits no loaded machine reaches: a test stopped by one would rightly leave the rest not run.
        (run,) = candidate_runs([Candidate(GRADED[0], sub, fail_fast=True)], GENEROUS, [], jobs)
        outcomes = [r.outcome for r in run.results.values()]
        assert Outcome.FAILED in outcomes and Outcome.NOT_RUN not in outcomes, outcomes
        assert len(outcomes) < len(run.collected)


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "grader.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_exit_status_and_strict():
    ok = run_cli("ex06", "--target", "solutions", "--strict", "-q")
    assert ok.returncode == 0 and "Total: 6 / 6" in ok.stdout
    stub = run_cli("ex06", "--strict", "-q")
    assert stub.returncode == 1 and "<- next" in stub.stdout
    bad = run_cli("ex99")
    assert bad.returncode == 2 and "no exercise matches" in bad.stderr
    missing = run_cli("--target", "/no/such/dir")
    assert missing.returncode == 2 and "not a directory" in missing.stderr


def test_cli_writes_a_partial_results_file_and_gradescope(tmp_path):
    out = tmp_path / "results.json"
    done = run_cli("ex06", "--target", "solutions", "--gradescope", str(out), "-q")
    assert done.returncode == 0
    assert json.loads(out.read_text())["score"] == 6


def test_hints_come_one_at_a_time_those_of_the_failing_properties_first(tmp_path, monkeypatch, capsys):
    import grader

    e = find_exercise(COURSE, "ex05")
    failing = Result("test_b", Outcome.FAILED, prop="b holds.", hint="hint of b")
    graded = Report(target="t", meta={}, exercises=[ExerciseResult(
        e.id, e.title, e.module, Status.FAILED, 0, e.points, tests=[failing], hints=list(e.hints))])
    asked = []
    monkeypatch.setattr(grader, "grade", lambda options: asked.append(options) or graded)
    monkeypatch.setattr(grader, "HINT_STATE", tmp_path / "hints.json")
    said = []
    for _ in range(len(e.hints) + 3):  # the failing property's, the exercise's, all seen, the first again
        assert grader.cmd_hint(["ex05"]) == 0
        said.append(capsys.readouterr().out)
    assert asked[0].exercises == [e] and asked[0].target == ROOT / "exercises" and not asked[0].integrated
    assert said[0].splitlines()[1:3] == ["  hint of b", "  (about a property that fails now: b holds.)"]
    assert [text.splitlines()[1].strip() for text in said[1:-2]] == list(e.hints)
    assert said[-2].startswith(f"You have seen all {len(e.hints) + 1} hints of ex05")
    assert said[-1] == said[0]  # then from the first again
    assert grader.main(["hint", "ex05", "--target", str(tmp_path / "nowhere")]) == rp.EXIT_USAGE


def test_watch_takes_an_exercise_and_rejects_what_it_cannot_watch(monkeypatch, capsys):
    import grader

    watched = []
    monkeypatch.setattr(grader, "_watch", lambda target, chosen, lang: watched.append((target, chosen)) or 0)
    assert grader.main(["watch", "ex06"]) == 0
    assert watched == [(ROOT / "exercises", [find_exercise(COURSE, "ex06")])]
    assert grader.main(["watch", str(SOLUTIONS)]) == 0 and watched[-1] == (SOLUTIONS, COURSE)
    capsys.readouterr()
    for wrong in (["/no/such/dir"], ["ex99"], ["ex06", "--target", "/no/such/dir"]):
        assert grader.main(["watch", *wrong]) == rp.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("grader.py watch: ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as help_asked:
        grader.main(["watch", "--help"])
    assert help_asked.value.code == 0 and "exercises to watch" in capsys.readouterr().out
    assert len(watched) == 2


def test_a_module_that_cannot_be_imported_runs_no_test(tmp_path):
    report = grade(Options(target=submission(tmp_path, "def softmax(x:\n"), exercises=GRADED[:1],
                           limits=FAST, integrated=False))
    ex02 = report.exercises[0]
    assert ex02.not_imported and {t.outcome for t in ex02.tests} == {Outcome.NOT_IMPORTED}
    assert len(ex02.notes) == 1 and "SyntaxError" in ex02.notes[0]
    assert rp.render_text(report).count("SyntaxError") == 1


def test_every_distinct_failure_is_reported_with_the_learners_frames(tmp_path):
    """A self-attention that transposes with X.T fails batched inputs with a ValueError and 2-D ones
    with wrong values: hypothesis finds both in one test, and the report keeps both."""
    sub = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, sub)
    mine = sub / "ex04_self_attention.py"
    mine.write_text(mine.read_text().replace("X @ np.swapaxes(X, -1, -2)", "X @ X.T / np.sqrt(X.shape[-1])"))
    report = grade(Options(target=sub, exercises=[find_exercise(COURSE, "ex04")], limits=FAST,
                           integrated=False))
    several = [t for t in report.exercises[0].tests if t.others]
    assert several, [t.message for t in report.exercises[0].tests]
    failures = several[0].failures
    assert all(f.message and f.counterexample for f in failures)
    frames = [f.traceback for f in failures if f.traceback]
    shown = f'File "{mine.resolve()}", line '
    assert frames and all(shown in text and ("X @ X.T" in text or "weights @ X" in text) for text in frames)
    machinery = ("_pytest", "pluggy", "hypothesis", "tests/")
    assert not any(word in text for text in frames for word in machinery)
    assert "failure 2 of" in rp.render_text(report) and "others" in rp.to_json(report)


def test_time_limits_count_the_cpu_seconds_of_the_test_process():
    """A busy machine slows the wall clock, not the CPU time: the limits read the child's CPU seconds."""
    import os

    from grading import runner

    if not runner._HAVE_PROC:
        pytest.skip("no /proc here: the limits are wall-clock")
    before = runner._cpu_seconds(os.getpid())
    sum(i * i for i in range(3_000_000))  # about 0.2 s of CPU
    assert runner._cpu_seconds(os.getpid()) > before
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert runner._cpu_seconds(child.pid) is None  # gone: nothing to read


def test_preloaded_tests_take_the_grading_profile_whatever_was_active_before():
    """Tests are imported once in the grader's process before the children fork; a test keeps the
    hypothesis settings active when its module was imported, so the grader imports (or imports
    again) every test module under the derandomised grading profile: same code, same examples."""
    import importlib
    import os

    from hypothesis import settings

    from grading.runner import Run, RunKey, preload

    module = importlib.import_module("tests.test_ex09_layers")  # already imported by this session
    preload([Run(key=RunKey("ex09"), module="ex09_layers", functions=[], target_dir=ROOT / "solutions",
                 limits=Limits())])
    used = module.test_add_and_norm_output_is_normalised._hypothesis_internal_use_settings
    assert used.derandomize and used.max_examples == settings.get_profile("grading").max_examples
    # the session's own profile is back in force afterwards
    assert settings.get_current_profile_name() == os.environ.get("HYPOTHESIS_PROFILE", "quick")


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in ("duration", "seconds")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.ci_only  # two more grader processes; test_grading_is_deterministic checks one process
def test_grading_twice_gives_the_same_report(tmp_path):
    """Two runs in fresh processes (other hash seeds) give the same JSON, timings aside."""
    code = "def softmax(x, axis=-1):\n    z = np.exp(x)\n    return z / z.sum(axis=0, keepdims=True)"
    sub = submission(tmp_path, code)
    texts = []
    for seed in ("1", "2"):
        out = tmp_path / f"report-{seed}.json"
        subprocess.run([sys.executable, str(ROOT / "grader.py"), "--target", str(sub), "ex02", "ex05",
                        "--json", str(out), "--quiet"], cwd=ROOT, check=False, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        texts.append(json.dumps(_without_timings(json.loads(out.read_text())), indent=1))
    assert '"counterexample": "test_' in texts[0]  # failures were shown
    assert texts[0] == texts[1]


def test_pure_computation_modules_may_be_imported_and_the_refusal_lists_them(tmp_path):
    from grading import sandbox

    fine = tmp_path / "ex01_autoregressive.py"
    fine.write_text("import numbers\nfrom enum import Enum\nimport numpy as np\n")
    assert sandbox.check_policy(fine, []) == []
    refused = submission(tmp_path, "import shutil")
    report = grade(Options(target=refused, exercises=GRADED[:1], limits=FAST, integrated=False))
    note = report.exercises[0].notes[0]
    assert report.exercises[0].status == Status.REFUSED and "`shutil`" in note and "`numbers`" in note


@pytest.mark.parametrize(("code", "refused"), [
    ("from . import ex01_autoregressive as ar", ""),  # an earlier exercise, imported another way
    ("from . import grading", "imports from `.`"),
    ("def f(p, v):\n    setattr(p, 'W_q', v)\n    return vars(p), p.__dict__, p.__class__", ""),
    ("import copy\ndef f(h):\n    copy = h.copy()\n    copy[copy < 0] = 0\n    return copy", ""),
    ("import copy\ndef f(h):\n    copy.deepcopy = h", "assigns into the module `copy`"),
    ("import numpy as np\nsetattr(np.linalg, 'norm', abs)", "uses `setattr(np, ...)`"),
    ("import numpy as np\nnp.__dict__['inf'] = 0.0", "uses `.__dict__`"),
    ("import numpy as np\ndef f():\n    vars(np)['inf'] = 0.0", "uses `vars(np)`"),
    ("patch = setattr", "uses `setattr`"),
])
def test_the_policy_refuses_patching_a_module_but_not_the_learners_own_objects(tmp_path, code, refused):
    """setattr, vars and __dict__ on the learner's own objects, a local variable named like a module
    and ``from . import`` of an earlier exercise are fine; the same on a module is refused."""
    from grading import sandbox

    module = tmp_path / "ex02_softmax.py"
    module.write_text(code + "\n")
    found = [str(v) for v in sandbox.check_policy(module, ["ex01_autoregressive", "ex02_softmax"])]
    assert any(refused in f for f in found) if refused else found == [], found


def test_every_event_survives_the_pipe_and_a_child_cannot_send_more_than_the_limits():
    """The child's events are encoded and decoded in one place (grading/protocol.py); what cannot
    be read is dropped, and every text is cut to its limit."""
    from grading import protocol
    from grading.model import Failure, Outcome

    events = [protocol.Collected(["test_a", "test_b"], first=["test_b"]),
              protocol.Started("test_a", prop="p", hint="h"),
              protocol.Finished("test_a", Outcome.DID_NOT_RETURN, message="m", duration=0.5),
              protocol.Finished("test_b", Outcome.FAILED, message="m", counterexample="c", traceback="t",
                                others=[Failure("m2", "c2", "t2"), Failure("m3")]),
              protocol.Note("n"), protocol.Tampered(["numpy.allclose"]),
              protocol.Fingerprints({"f": [["float64[2]", [1.0]]]}, {"f": ["factor", {"factor": "2"}]}),
              protocol.Debug("d"), protocol.Done()]
    assert [protocol.decode(protocol.encode(e)) for e in events] == events
    assert events[0].claim_order() == ["test_b", "test_a"]  # a slow test first, then the others in order
    long = protocol.decode(protocol.encode(protocol.Finished("t", Outcome.FAILED, message="x" * 10**4,
                                                             traceback="y" * 10**5)))
    assert len(long.message) == protocol.MAX_FIELD and len(long.traceback) == protocol.MAX_TRACEBACK
    many = protocol.decode(protocol.encode(protocol.Finished("t", Outcome.FAILED, message="m",
                                                             others=[Failure("x" * 10**4)] * 50)))
    assert len(many.others) == protocol.MAX_OTHERS and len(many.others[0].message) == protocol.MAX_FIELD
    unknown = protocol.encode(protocol.Finished("t", "no such outcome"))
    assert protocol.decode(unknown).outcome == Outcome.FAILED
    assert [protocol.decode(line) for line in (b"not json", b"[1]", b'{"event": "nothing"}')] == [None] * 3
